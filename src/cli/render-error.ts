/** How an error is shown on the command line: message and hint for user errors; a stack for bugs. */
import { isAppError } from "../common/errors.js";
import { redact } from "../common/redact.js";

export function renderError(error: unknown): string {
  if (isAppError(error)) {
    const lines = [`✖ ${error.message}`];
    if (error.hint) lines.push(`  ${error.hint}`);
    if (!error.isUserError && process.env.FLASH_DEBUG && error.stack) lines.push(error.stack);
    return redact(lines.join("\n"));
  }
  const err = error instanceof Error ? error : new Error(String(error));
  return redact(`✖ ${err.message}\n  This is probably a bug in flash-ts; please report it with the stack below.\n${err.stack ?? ""}`);
}
