/**
 * Loaded with `--import` into the process `flash run` starts for the script
 * (docs/internals.md, "Calls from a script"), before the script's bundle:
 *
 * - `process.argv[1]` names the script, as under `node script.ts`;
 * - the SDK's dispatcher sends each remote call to `flash run` over the
 *   channel (script-channel.ts) and settles it with the answer. The channel
 *   holds the process open only while a call is in flight, so the script's
 *   process ends exactly when Node would end it: its top-level code has
 *   settled and nothing of its own keeps it alive.
 *
 * Kept small: it loads the SDK registry, the value codec and errors, nothing
 * that would slow the script's start.
 */
import { Socket } from "node:net";
import { AppError, isAppError } from "../common/errors.js";
import type { ErrorCode } from "../common/errors.js";
import { PACKAGE_ROOT } from "../common/package-info.js";
import { decodeValue, encodeValue } from "../common/value-codec.js";
import { setDispatcher } from "../sdk/registry.js";
import type { RemoteCall } from "../sdk/registry.js";
import { CHANNEL_FD, MessageTooLargeError, openChannel, SCRIPT_PATH_ENV } from "./script-channel.js";
import type { CallMessage, ErrorShape, ResultMessage } from "./script-channel.js";

const script = process.env[SCRIPT_PATH_ENV];
delete process.env[SCRIPT_PATH_ENV];
if (script) process.argv[1] = script;

const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; site: Error }>();
let nextId = 1;
let stoppedWith: AppError | undefined;

const socket = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
socket.unref();

const channel = openChannel<ResultMessage, CallMessage>(
  socket,
  (message) => {
    const call = waiting.get(message.id);
    if (!call) return;
    settled(message.id);
    if (message.ok) call.resolve(decodeValue(message.value));
    else call.reject(rebuild(message.error, call.site));
  },
  (error) => {
    // flash run is gone (stopped, or killed): nothing can answer any more.
    stoppedWith = new AppError("SERVICE_UNAVAILABLE", `flash run stopped${error ? ` (${error.message})` : ""}: the call was cancelled`);
    for (const [id, call] of waiting) {
      settled(id);
      call.reject(stoppedWith);
    }
  },
);

function settled(id: number): void {
  waiting.delete(id);
  // Nothing in flight: the channel must not keep the script's process alive.
  if (waiting.size === 0) socket.unref();
}

/** The frames of the script's call site (our own frames left out), to follow the remote stack. */
function localFrames(site: Error): string {
  return (site.stack ?? "")
    .split("\n")
    .slice(1)
    .filter((line) => !line.includes(PACKAGE_ROOT))
    .join("\n");
}

/** An AppError with the answer's code, message, name and stack; the script's call site ends the stack. */
function rebuild(shape: ErrorShape, site: Error): AppError {
  let details: Record<string, unknown> | undefined;
  try {
    details = shape.details === undefined ? undefined : (decodeValue(shape.details) as Record<string, unknown>);
  } catch {
    details = undefined;
  }
  const error = new AppError(shape.code, shape.message, { ...(shape.hint ? { hint: shape.hint } : {}), ...(details ? { details } : {}) });
  error.name = shape.name;
  const head = shape.stack ?? `${shape.name}: ${shape.message}`;
  const frames = localFrames(site);
  error.stack = frames ? `${head}\n${frames}` : head;
  return error;
}

function describe(call: RemoteCall): string {
  return `${call.identity.file}#${call.identity.export}${call.method ? `.${call.method}` : ""}`;
}

/** The arguments, encoded as the function client would (the same message when one cannot be sent). */
function encodeArguments(call: RemoteCall): Pick<CallMessage, "args" | "instance"> {
  try {
    const args = call.args.map((arg, i) => encodeValue(arg, `arguments[${i}]`));
    if (!call.instance) return { args };
    return { args, instance: { id: call.instance.id, args: call.instance.args.map((arg, i) => encodeValue(arg, `constructor arguments[${i}]`)) } };
  } catch (error) {
    throw new AppError("INVALID_INPUT", `cannot call ${describe(call)}: ${(error as Error).message}`, {
      cause: error,
      hint: "Pass data (objects, arrays, strings, numbers, Dates, bytes, Maps, Sets); functions and symbols stay on the caller's side.",
    });
  }
}

setDispatcher({
  call(call: RemoteCall): Promise<unknown> {
    if (stoppedWith) return Promise.reject(stoppedWith);
    const site = new Error("call site");
    let message: CallMessage;
    try {
      message = {
        type: "call",
        id: nextId++,
        file: call.identity.file,
        export: call.identity.export,
        ...(call.method ? { method: call.method } : {}),
        ...encodeArguments(call),
        spec: call.meta.config.toSpec(),
      };
    } catch (error) {
      return Promise.reject(isAppError(error) ? error : new AppError("INTERNAL", String(error)));
    }
    return new Promise((resolve, reject) => {
      try {
        channel.send(message);
      } catch (error) {
        const code: ErrorCode = error instanceof MessageTooLargeError ? "BODY_TOO_LARGE" : "INTERNAL";
        return reject(new AppError(code, `cannot call ${describe(call)}: ${(error as Error).message}`, { hint: "Send large data by reference (a URL or a network volume path) instead." }));
      }
      waiting.set(message.id, { resolve, reject, site });
      socket.ref();
    });
  },
});
