/**
 * The client side of the function protocol (docs/internals.md, "Function
 * calls"): one way to call a remote function, for the dev server, nested calls
 * in workers and local calls.
 */
export { createFunctionClient } from "./function-client.js";
export type { CallResult, FunctionCall, FunctionClient, FunctionClientOptions, JobApi, LoadBalancerApi, LocalRunner } from "./function-client.js";
export type { CallEvents, CallObserver } from "./call-observer.js";
export { FunctionCallError, describeTarget, errorForFailure, errorForJob, errorForLbAnswer, errorForTransport, FAILURE_KIND_CODES, JOB_STATUS_CODES, lbStatusCode } from "./call-errors.js";
