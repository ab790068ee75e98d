/**
 * A few lines kept at the bottom of a terminal and redrawn in place (the live
 * state of calls in flight), below everything else the process writes. While
 * installed it wraps the stream's `write`: every other write first erases the
 * region, goes out as it was, and the region is drawn again under it — so
 * request lines, function output and worker output scroll by above it and
 * nothing is left half-overwritten. A write that ends mid-line keeps the
 * region away until a line ends. Lines are cut to the terminal's width so
 * none wraps (a wrapped line would throw off the count of lines to erase).
 */

/** The part of a TTY stream (process.stderr) the region uses. */
export interface TerminalStream {
  write(chunk: string | Uint8Array, ...rest: never[]): boolean;
  /** Width in columns; 80 when unknown (or 0). */
  columns?: number;
}

type Write = (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;

const ERASE_DOWN = "\x1b[J";
const up = (n: number): string => `\x1b[${n}A`;

/** Cuts a line to `width` characters (code points); the region holds no escape sequences. */
function fit(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, Math.max(0, width - 1)).join("")}…`;
}

export class LiveRegion {
  readonly #stream: TerminalStream;
  readonly #original: Write;
  #lines: string[] = [];
  /** Lines of the region on the screen now. */
  #drawn = 0;
  /** The cursor is at the start of a line (the last write ended with a newline). */
  #atLineStart = true;
  #installed = false;

  constructor(stream: TerminalStream) {
    this.#stream = stream;
    this.#original = stream.write.bind(stream) as Write;
  }

  /** Takes over the stream's writes. Idempotent. */
  install(): void {
    if (this.#installed) return;
    this.#installed = true;
    (this.#stream as { write: Write }).write = (chunk, ...rest) => {
      this.#erase();
      const ok = this.#original(chunk, ...rest);
      this.#track(chunk);
      this.#draw();
      return ok;
    };
  }

  /** Replaces the region's lines and redraws it. */
  set(lines: readonly string[]): void {
    this.#erase();
    this.#lines = [...lines];
    this.#draw();
  }

  /** Erases the region and gives the stream its own `write` back. Idempotent. */
  close(): void {
    this.#erase();
    this.#lines = [];
    if (!this.#installed) return;
    this.#installed = false;
    (this.#stream as { write: Write }).write = this.#original;
  }

  #track(chunk: string | Uint8Array): void {
    if (chunk.length === 0) return;
    const last = typeof chunk === "string" ? chunk.at(-1) : String.fromCharCode(chunk[chunk.length - 1]!);
    this.#atLineStart = last === "\n";
  }

  #erase(): void {
    if (this.#drawn === 0) return;
    this.#original(`\r${up(this.#drawn)}${ERASE_DOWN}`);
    this.#drawn = 0;
  }

  #draw(): void {
    if (this.#drawn > 0 || this.#lines.length === 0 || !this.#atLineStart) return;
    // A pseudo-terminal nobody sized says 0 columns.
    const width = Math.max(10, (this.#stream.columns || 80) - 1);
    this.#original(this.#lines.map((line) => fit(line, width)).join("\n") + "\n");
    this.#drawn = this.#lines.length;
  }
}
