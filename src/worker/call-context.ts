/**
 * The context of one function call inside the worker, carried through every
 * await of the user's code by AsyncLocalStorage. Console capture uses it to
 * know which call a log line belongs to, and the nested dispatcher to know
 * which request (module, endpoints, deadline) a remote call is made from.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { FunctionLog, FunctionRequest } from "../shared/function-protocol.js";

/** Per-call log buffers stop growing here, so a chatty function cannot blow up a job result. */
const MAX_LOG_BYTES = 1024 * 1024;

/** Collects the console output of one call, bounded in size. */
export class LogCollector {
  readonly entries: FunctionLog[] = [];
  #bytes = 0;
  #truncated = false;
  readonly #echo: ((log: FunctionLog) => void) | undefined;

  /** @param echo also hands every line to this function (e.g. the worker's own stderr). */
  constructor(echo?: (log: FunctionLog) => void) {
    this.#echo = echo;
  }

  /** Adds one console call's text (without a trailing newline). */
  add(stream: FunctionLog["stream"], text: string): void {
    this.#echo?.({ stream, text });
    if (this.#truncated) return;
    this.#bytes += text.length;
    if (this.#bytes > MAX_LOG_BYTES) {
      this.#truncated = true;
      this.entries.push({ stream: "stderr", text: `[flash worker] log output over ${MAX_LOG_BYTES} bytes; the rest was dropped` });
      return;
    }
    this.entries.push({ stream, text });
  }

  /** Appends lines captured elsewhere (e.g. the logs of a nested remote call). */
  addAll(logs: readonly FunctionLog[]): void {
    for (const log of logs) this.add(log.stream, log.text);
  }
}

/** What the runtime knows about the call in progress. */
export interface CallContext {
  readonly request: FunctionRequest;
  /** file: URL of the module the call runs in. */
  readonly moduleUrl: string;
  readonly logs: LogCollector;
  /** Aborted when the job is cancelled or the call timed out. */
  readonly signal: AbortSignal | undefined;
  /** performance.now() value after which the caller stops waiting, if any. */
  readonly deadline: number | undefined;
}

/** The store of the current call; empty outside function calls. */
export const callStorage = new AsyncLocalStorage<CallContext>();

/** The call in progress in this async context, if any. */
export function currentCall(): CallContext | undefined {
  return callStorage.getStore();
}
