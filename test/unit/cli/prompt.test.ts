import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { readHiddenLine, readKeyFromStdin } from "../../../src/cli/prompt.js";

/** A stand-in terminal: records raw mode, and what was echoed. */
function terminal(): { input: PassThrough & { isTTY: boolean; setRawMode(mode: boolean): void; raw: boolean[] }; output: PassThrough; written(): string } {
  const input = Object.assign(new PassThrough(), { isTTY: true, raw: [] as boolean[], setRawMode(mode: boolean) { input.raw.push(mode); } });
  const output = new PassThrough();
  let text = "";
  output.on("data", (c: Buffer) => (text += c.toString("utf8")));
  return { input, output, written: () => text };
}

describe("reading a key", () => {
  it("on a terminal: raw mode, nothing echoed, backspace edits, Enter ends", async () => {
    const t = terminal();
    const line = readHiddenLine("Key: ", t);
    t.input.write("rpa_ab");
    t.input.write("X\u007f");
    t.input.write("cd\r");
    expect(await line).toBe("rpa_abcd");
    expect(t.written()).toBe("Key: \n");
    expect(t.input.raw).toEqual([true, false]);
  });

  it("on a terminal: Ctrl-C cancels", async () => {
    const t = terminal();
    const line = readHiddenLine("Key: ", t);
    t.input.write("rpa\u0003");
    await expect(line).rejects.toMatchObject({ code: "INVALID_INPUT", message: "cancelled" });
    expect(t.input.raw).toEqual([true, false]);
  });

  it("from a pipe: the first line, and a first line too long to be a key is refused", async () => {
    const piped = new PassThrough();
    piped.end("rpa_PIPED\nsecond line\n");
    expect(await readKeyFromStdin(piped)).toBe("rpa_PIPED");
    const empty = new PassThrough();
    empty.end("");
    expect(await readKeyFromStdin(empty)).toBe("");
    const huge = new PassThrough();
    huge.end("x".repeat(10_000));
    await expect(readKeyFromStdin(huge)).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });
});
