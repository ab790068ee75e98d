/**
 * The size, depth and time limits of request bodies, shared by the dev
 * server, the emulator and the worker so that all three refuse the same
 * things (docs/limits.md).
 */

const MB = 1024 * 1024;

/**
 * Runpod's payload limits (docs/limits.md, Payload limits): the documented
 * ones for `/run`, `/runsync`, stream chunks and load-balanced requests, and
 * for a queue job's result the size past which Runpod refuses the worker's
 * post (not documented; observed).
 */
export const RUNPOD_LIMITS = {
  /** Body of `POST /run`. */
  run: 10 * MB,
  /** Body of `POST /runsync`. */
  runsync: 20 * MB,
  /** Body of a worker's job-done post: the result (or a progress update). */
  jobResult: 20 * MB,
  /** Body of one stream chunk. */
  streamChunk: 1 * MB,
  /** A load-balanced request, and its response. */
  loadBalanced: 30 * MB,
} as const;

/**
 * Deepest nesting of arrays and objects accepted in a JSON body. JSON.stringify,
 * the value codec and structured clone recurse, so a 100,000-level body would
 * end as a stack overflow far from where it came in.
 */
export const MAX_JSON_DEPTH = 512;

/** How long a client may take to send a request (docs/limits.md, Slow clients). */
export interface RequestTimeouts {
  /** From connection (or the previous response) to the end of the headers. */
  headersTimeoutMs: number;
  /** From the start of a request to the end of its body. The answer may take as long as it needs. */
  requestTimeoutMs: number;
}

/** The request timeouts of every server flash-ts runs. */
export const REQUEST_TIMEOUTS: RequestTimeouts = { headersTimeoutMs: 30_000, requestTimeoutMs: 120_000 };

/**
 * `node:http` server options enforcing `timeouts`. Node checks them on an
 * interval (30 s by default), so the interval follows the shortest timeout.
 */
export function requestTimeoutOptions(timeouts: RequestTimeouts = REQUEST_TIMEOUTS): {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
} {
  const headersTimeout = timeouts.headersTimeoutMs;
  // Node requires headersTimeout <= requestTimeout.
  const requestTimeout = Math.max(timeouts.requestTimeoutMs, headersTimeout);
  return { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(headersTimeout / 4))) };
}
