/**
 * The context of one function call inside the worker, carried through every
 * await of the user's code by AsyncLocalStorage. Console capture uses it to
 * know which call a log line belongs to, and the nested dispatcher to know
 * which request (module, endpoints, deadline) a remote call is made from.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { FunctionLog, FunctionRequest } from "../common/function-protocol.js";

/** Per-call log buffers stop growing here, so a chatty function cannot blow up a job result. */
const MAX_LOG_BYTES = 1024 * 1024;

/**
 * Collects the console output of one call, bounded in size. Every line is
 * also handed to `echo` with its position in `entries` (live logs: the caller
 * leaves out of the result what it has already shown, docs/internals.md
 * "Live logs"); lines past the cap still reach `echo`, at positions the
 * result never has.
 */
export class LogCollector {
  readonly entries: FunctionLog[] = [];
  #bytes = 0;
  #seq = 0;
  #truncated = false;
  readonly #echo: ((log: FunctionLog, seq: number) => void) | undefined;

  /** @param echo also hands every line to this function (e.g. the worker's own stderr, or the live log sender). */
  constructor(echo?: (log: FunctionLog, seq: number) => void) {
    this.#echo = echo;
  }

  /** Adds one console call's text (without a trailing newline); `endpoint` names the callee of a nested call. */
  add(stream: FunctionLog["stream"], text: string, endpoint?: string): void {
    const seq = this.#seq++;
    let log: FunctionLog = { stream, text, ...(endpoint ? { endpoint } : {}) };
    if (!this.#truncated) {
      this.#bytes += text.length;
      if (this.#bytes > MAX_LOG_BYTES) {
        this.#truncated = true;
        log = { stream: "stderr", text: `[flash worker] log output over ${MAX_LOG_BYTES} bytes; the rest was dropped` };
      }
      this.entries.push(log);
    }
    this.#echo?.(log, seq);
  }

  /** Appends lines captured elsewhere: a nested call's output, labelled with its endpoint unless a deeper call already was. */
  addAll(logs: readonly FunctionLog[], endpoint?: string): void {
    for (const log of logs) this.add(log.stream, log.text, log.endpoint ?? endpoint);
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
