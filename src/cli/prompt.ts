/**
 * Reading from the person at the terminal: a yes/no question, a line typed
 * without echo (a key), or a key piped on standard input.
 */
import { createInterface } from "node:readline/promises";
import type { Readable, Writable } from "node:stream";
import { AppError } from "../common/errors.js";

/** What is read from a pipe at most: a key is a line, not a file. */
const MAX_PIPED_BYTES = 4096;

type TtyInput = Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };

/** Asks `question [y/N]`; anything but y/yes is no. */
export async function askYesNo(question: string, streams: { input: Readable; output: Writable }): Promise<boolean> {
  const rl = createInterface({ input: streams.input, output: streams.output });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Reads one line from a terminal without echoing it; Ctrl-C cancels. */
export function readHiddenLine(prompt: string, streams: { input: TtyInput; output: Writable }): Promise<string> {
  const { input, output } = streams;
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let line = "";
    const finish = (error?: AppError): void => {
      input.off("data", onData);
      input.setRawMode?.(false);
      input.pause();
      output.write("\n");
      if (error) reject(error);
      else resolve(line);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return finish();
        if (ch === "\u0003") return finish(new AppError("INVALID_INPUT", "cancelled", { hint: "Run flash login again when you have the key." }));
        if (ch === "\u007f" || ch === "\b") line = line.slice(0, -1);
        else if (ch >= " " && line.length < MAX_PIPED_BYTES) line += ch;
      }
    };
    input.setRawMode?.(true);
    input.on("data", onData);
    input.resume();
  });
}

/** The first line of what is piped in (bounded). */
export async function readKeyFromStdin(input: Readable): Promise<string> {
  let text = "";
  for await (const chunk of input) {
    text += (chunk as Buffer).toString("utf8");
    if (text.length > MAX_PIPED_BYTES || text.includes("\n")) break;
  }
  if (text.length > MAX_PIPED_BYTES && !text.slice(0, MAX_PIPED_BYTES).includes("\n")) {
    throw new AppError("INVALID_INPUT", `standard input holds more than ${MAX_PIPED_BYTES} bytes on its first line; a key is one short line`, {
      hint: 'Pipe the key alone: echo "$RUNPOD_API_KEY" | flash login',
    });
  }
  return text.split(/\r?\n/)[0] ?? "";
}
