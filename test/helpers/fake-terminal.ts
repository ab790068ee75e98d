/**
 * Enough of a terminal to see what is on screen, for tests of output that
 * redraws lines in place: text (a line longer than the width wraps onto the
 * next row, as on a real one), \r, \n, cursor up (ESC[nA), erase down
 * (ESC[J) and colours (ESC[…m, ignored). Any other escape sequence is an error.
 */
const ESCAPE = new RegExp(String.raw`^\u001b\[([\d;]*)([AJm])`);

export class FakeTerminal {
  constructor(readonly columns = 72) {}
  rows: string[] = [""];
  row = 0;
  col = 0;
  writes = 0;

  write(chunk: string | Uint8Array): boolean {
    this.writes++;
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c === "\x1b") {
        const m = ESCAPE.exec(text.slice(i));
        if (!m) throw new Error(`unexpected escape ${JSON.stringify(text.slice(i, i + 6))}`);
        if (m[2] === "A") this.row = Math.max(0, this.row - Number(m[1] || 1));
        else if (m[2] === "J") {
          this.rows[this.row] = (this.rows[this.row] ?? "").slice(0, this.col);
          this.rows.length = this.row + 1;
        }
        i += m[0].length - 1;
      } else if (c === "\r") this.col = 0;
      else if (c === "\n") {
        this.row++;
        this.col = 0;
        if (this.rows.length <= this.row) this.rows.push("");
      } else {
        if (this.col === this.columns) {
          this.row++;
          this.col = 0;
          if (this.rows.length <= this.row) this.rows.push("");
        }
        const line = (this.rows[this.row] ?? "").padEnd(this.col, " ");
        this.rows[this.row] = line.slice(0, this.col) + c + line.slice(this.col + 1);
        this.col++;
      }
    }
    return true;
  }

  /** The screen's lines, without the empty one the cursor sits on. */
  screen(): string[] {
    return this.rows.at(-1) === "" ? this.rows.slice(0, -1) : [...this.rows];
  }
}

