/** The error the runtime raises for a call it cannot run, carrying the protocol's error kind. */
import type { FunctionErrorKind } from "../shared/function-protocol.js";

/** A failure of the runtime around a call (as opposed to the user's function throwing). */
export class CallError extends Error {
  readonly kind: FunctionErrorKind;

  constructor(kind: FunctionErrorKind, message: string, options: { name?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.name = options.name ?? "Error";
  }
}
