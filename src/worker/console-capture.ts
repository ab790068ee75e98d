/**
 * Routes the console output of user code to the call that produced it.
 *
 * The console methods are replaced once per process (reference counted so
 * several executors, e.g. in tests, can come and go). Inside a function call
 * the text goes into that call's LogCollector, found through AsyncLocalStorage,
 * so concurrent calls never mix their lines. Outside a call (module top level,
 * a handler in handler mode, stray timers) it goes to the real stderr: stdout
 * is reserved for results (the one-shot mode prints its result there).
 */
import { formatWithOptions, inspect } from "node:util";
import type { InspectOptions } from "node:util";
import { currentCall } from "./call-context.js";

type Stream = "stdout" | "stderr";
type ConsoleMethod = "log" | "info" | "debug" | "warn" | "error" | "trace" | "dir";

const STREAM_OF: Record<ConsoleMethod, Stream> = {
  log: "stdout",
  info: "stdout",
  debug: "stdout",
  dir: "stdout",
  warn: "stderr",
  error: "stderr",
  trace: "stderr",
};

let installs = 0;
let originals: Partial<Record<ConsoleMethod, (...args: unknown[]) => void>> = {};

function emit(stream: Stream, text: string): void {
  const call = currentCall();
  if (call) call.logs.add(stream, text);
  else process.stderr.write(text + "\n");
}

function format(args: unknown[]): string {
  return formatWithOptions({ colors: false }, ...args);
}

function replacement(method: ConsoleMethod): (...args: unknown[]) => void {
  const stream = STREAM_OF[method];
  switch (method) {
    case "dir":
      return (value: unknown, options?: unknown) =>
        emit(stream, inspect(value, { ...(options as InspectOptions | undefined), colors: false }));
    case "trace":
      return (...args: unknown[]) => {
        const err = new Error(format(args));
        err.name = "Trace";
        // Drop the frame of this replacement so the trace starts at the caller, like console.trace.
        const lines = (err.stack ?? "").split("\n");
        emit(stream, [lines[0], ...lines.slice(2)].join("\n"));
      };
    default:
      return (...args: unknown[]) => emit(stream, format(args));
  }
}

/**
 * Replaces the console methods (log, info, debug, dir → stdout; warn, error,
 * trace → stderr) with capturing versions. Returns a function that undoes this
 * installation; the originals come back when the last one is undone.
 */
export function installConsoleCapture(): () => void {
  if (installs++ === 0) {
    const target = console as unknown as Record<ConsoleMethod, (...args: unknown[]) => void>;
    originals = {};
    for (const method of Object.keys(STREAM_OF) as ConsoleMethod[]) {
      originals[method] = target[method];
      target[method] = replacement(method);
    }
  }
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    if (--installs === 0) {
      const target = console as unknown as Record<ConsoleMethod, (...args: unknown[]) => void>;
      for (const [method, original] of Object.entries(originals) as [ConsoleMethod, (...args: unknown[]) => void][]) {
        target[method] = original;
      }
      originals = {};
    }
  };
}
