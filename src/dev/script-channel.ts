/**
 * The channel between `flash run` and the script process it starts
 * (docs/internals.md, "Calls from a script"): one JSON message per line on a
 * pipe of its own (file descriptor 3 in the script), so the script's stdin,
 * stdout, stderr and `process.send` stay what they would be under `node`.
 *
 * The script asks for calls; `flash run` answers each with a value or an
 * error. Values travel in the value codec's encoding (common/value-codec.ts),
 * the one function arguments and results use everywhere. Messages are
 * bounded: a line longer than MAX_MESSAGE_BYTES ends the channel.
 */
import type { Duplex } from "node:stream";
import type { ErrorCode } from "../common/errors.js";
import type { JsonValue } from "../common/value-codec.js";
import type { ResourceSpec } from "../sdk/resources.js";

/** Variable naming the script for its `process.argv[1]`; script-child.ts removes it from the script's environment. */
export const SCRIPT_PATH_ENV = "FLASH_RUN_SCRIPT";

/** The script's file descriptor of the channel. */
export const CHANNEL_FD = 3;
/**
 * Largest message either side sends: above Runpod's own payload limits (10 MB
 * for /run, 20 MB for /runsync, base64 included), so the channel never refuses
 * what an endpoint would take.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** A remote call made by the script. */
export interface CallMessage {
  type: "call";
  id: number;
  file: string;
  export: string;
  method?: string;
  /** The arguments, encoded. */
  args: JsonValue[];
  instance?: { id: string; args: JsonValue[] };
  /** The function's config as the script built it. */
  spec: ResourceSpec;
}

/** An error, flattened: the script rebuilds an AppError with the same code, message, name and stack. */
export interface ErrorShape {
  code: ErrorCode;
  message: string;
  name: string;
  hint?: string;
  stack?: string;
  /** Encoded (a function's `details.thrown` may be any value). */
  details?: JsonValue;
}

export type ResultMessage = { type: "result"; id: number; ok: true; value: JsonValue } | { type: "result"; id: number; ok: false; error: ErrorShape };

export interface MessageChannel<Out> {
  /** Sends one message; throws MessageTooLargeError above the bound (the caller answers with an error instead). */
  send(message: Out): void;
  close(): void;
}

/** Thrown by send() for a message above MAX_MESSAGE_BYTES. */
export class MessageTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`a message of ${bytes} bytes is larger than the ${MAX_MESSAGE_BYTES} bytes the flash run channel carries`);
    this.name = "MessageTooLargeError";
  }
}

/**
 * Reads and writes line-delimited JSON on `stream`. `onMessage` gets every
 * parsed message (the receiver checks its shape); `onClose` is called once,
 * with an error when the other side broke the protocol.
 */
export function openChannel<In, Out>(stream: Duplex, onMessage: (message: In) => void, onClose: (error?: Error) => void): MessageChannel<Out> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let closed = false;
  const finish = (error?: Error): void => {
    if (closed) return;
    closed = true;
    onClose(error);
  };
  stream.on("data", (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      const line = Buffer.concat([...pending, chunk.subarray(start, nl)]).toString("utf8");
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      let message: In;
      try {
        message = JSON.parse(line) as In;
      } catch {
        stream.destroy();
        return finish(new Error("the flash run channel received a line that is not JSON"));
      }
      onMessage(message);
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_MESSAGE_BYTES) {
        stream.destroy();
        return finish(new MessageTooLargeError(pendingBytes));
      }
      pending.push(chunk.subarray(start));
    }
  });
  stream.on("error", (error) => finish(error));
  stream.on("close", () => finish());
  return {
    send(message) {
      const line = JSON.stringify(message) + "\n";
      const bytes = Buffer.byteLength(line);
      if (bytes > MAX_MESSAGE_BYTES) throw new MessageTooLargeError(bytes);
      if (!closed) stream.write(line);
    },
    close() {
      stream.end();
    },
  };
}
