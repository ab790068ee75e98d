/**
 * The reason to give an AbortController that stops an internal wait because
 * what it waited for is over (a call ended, a job finished). `abort()` without
 * a reason builds a DOMException, stack and all, and the call path does this
 * several times per call: measured, it was a visible share of what each call
 * costs (BENCHMARKS.md, "What the dev server adds"). Waits stopped this way
 * are ignored by their owners; nothing reports this reason.
 */
export const WAIT_ENDED: Error = new Error("the wait is no longer needed");
