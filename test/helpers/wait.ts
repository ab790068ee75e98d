/**
 * The one polling wait of the tests. Prefer waiting on an event (a process's
 * output, a recorder's promise); poll only for state that announces nothing
 * (a file appearing, a pid gone, an HTTP endpoint answering). Never sleep for
 * a fixed time to let something happen.
 */

/**
 * Calls `check` until it returns a truthy value, and returns that value. A
 * throw counts as "not yet" and is quoted if time runs out, so the failure
 * says what was last seen.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      last = undefined;
    } catch (error) {
      last = error;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : String(last)})` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
