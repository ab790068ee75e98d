/**
 * The caller's side of runtime delivery (docs/internals.md, "The worker
 * runtime"), as a wrapper around the two ways a FunctionRequest travels — a
 * queue job and `POST /execute` on a load-balanced endpoint — so the dev
 * server and a worker calling other endpoints share it and the invokers stay
 * unaware of it:
 *
 * - every request names the caller's runtime (`runtime: {version, hash}`);
 * - the first request to an endpoint carries the bundle (`runtime.gzip`), so
 *   a cold endpoint needs no extra round trip; later ones do not, and a
 *   worker that answers `runtime-missing` (a new one) gets it on a resend;
 * - `runtime-mismatch` (a warm worker with another build) is sent again,
 *   a bounded number of times, since such a worker retires after answering
 *   and a fresh one takes the caller's runtime; after that it is an error
 *   naming both versions;
 * - `unsupported-worker` (an image whose Node.js is too old) and jobs the
 *   emulator failed because workers cannot start become a WORKER_UNREACHABLE
 *   error with a hint (502 at the dev server), never a function error.
 */
import { AppError } from "../common/errors.js";
import { isFunctionRequest, parseFunctionResponse } from "../common/function-protocol.js";
import type { FunctionRequest, FunctionResponse } from "../common/function-protocol.js";
import { isRecord } from "../common/is-record.js";
import type { RuntimeRef } from "../common/function-protocol.js";
import { WORKER_START_FAILED, parseJobError } from "../runpod/wire-types.js";

/** A worker runtime bundle a caller delivers (src/worker/runtime-source.ts reads one from disk). */
export interface RuntimeSource {
  readonly version: string;
  /** sha256 hex of the bundle text. */
  readonly hash: string;
  /** Bytes of the bundle. */
  readonly size: number;
  /** The reference sent with every request; with the code (gzip, base64) when `withCode`. */
  ref(withCode: boolean): Promise<RuntimeRef>;
}

/** Resends after `runtime-mismatch` before giving up (each mismatched worker retires). */
const MISMATCH_RESENDS = 2;
/** Targets remembered as having the runtime (oldest forgotten first). */
const MAX_TARGETS = 1000;

const IMAGE_HINT =
  "flash-ts workers need an image with Node.js 22 or newer on its PATH: set `image` in the resource config (or FLASH_CPU_IMAGE / FLASH_GPU_IMAGE) " +
  "to one that has it; the README's section on GPU images says how to add Node.js to a CUDA image.";

/** The part of a job client this wraps (src/runpod's JobClient, the worker's JobApiLike). */
export interface RunsJobs<Req extends { input: unknown }, Opt, Res extends { status: string; output?: unknown; error?: string }> {
  runToCompletion(endpointId: string, request: Req, options: Opt): Promise<Res>;
}

/** The part of a load-balancer client this wraps. */
export interface SendsLbRequests<Opt extends { path: string; json?: unknown }, Res extends { status: number; body: unknown }> {
  request(endpointIdOrBaseUrl: string, options: Opt): Promise<Res>;
}

/** Runtime delivery for one caller: which endpoints have its runtime. */
export class RuntimeDelivery {
  readonly #source: RuntimeSource;
  readonly #delivered = new Set<string>();

  constructor(source: RuntimeSource) {
    this.#source = source;
  }

  /**
   * Wraps a job client: queue jobs whose input is a FunctionRequest carry the runtime.
   * The client's other methods are kept as they are (clients are plain objects made by factories).
   */
  jobs<Req extends { input: unknown }, Opt, Res extends { status: string; output?: unknown; error?: string }, C extends RunsJobs<Req, Opt, Res>>(client: C & RunsJobs<Req, Opt, Res>): C {
    const wrapped: RunsJobs<Req, Opt, Res> = {
      runToCompletion: async (endpointId, request, options) => {
        if (!isFunctionRequest(request.input)) return client.runToCompletion(endpointId, request, options);
        const input = request.input as FunctionRequest;
        const answer = await this.#send(
          endpointId,
          input,
          (withRuntime) => client.runToCompletion(endpointId, { ...request, input: withRuntime }, options),
          (job) => (job.status === "COMPLETED" && isRecord(job.output) ? responseOf(job.output) : undefined),
        );
        if (answer.status === "FAILED") {
          const failure = parseJobError(answer.error);
          if (failure?.error_type === WORKER_START_FAILED) {
            throw new AppError("WORKER_UNREACHABLE", `endpoint ${endpointId}: ${failure.error_message}`, { hint: failure.hint ?? IMAGE_HINT, details: { endpointId } });
          }
        }
        return answer;
      },
    };
    return { ...client, ...wrapped };
  }

  /** Wraps a load-balancer client: `POST /execute` requests carry the runtime (other methods are kept). */
  loadBalancer<Opt extends { path: string; json?: unknown }, Res extends { status: number; body: unknown }, C extends SendsLbRequests<Opt, Res>>(client: C & SendsLbRequests<Opt, Res>): C {
    const wrapped: SendsLbRequests<Opt, Res> = {
      request: async (target, options) => {
        if (options.path !== "/execute" || !isFunctionRequest(options.json)) return client.request(target, options);
        return this.#send(
          target,
          options.json as FunctionRequest,
          (withRuntime) => client.request(target, { ...options, json: withRuntime }),
          (answer) => (answer.status === 200 && isRecord(answer.body) ? responseOf(answer.body) : undefined),
        );
      },
    };
    return { ...client, ...wrapped };
  }

  async #send<A>(target: string, request: FunctionRequest, call: (request: FunctionRequest) => Promise<A>, read: (answer: A) => FunctionResponse | undefined): Promise<A> {
    const attach = async (withCode: boolean): Promise<FunctionRequest> => ({ ...request, runtime: await this.#source.ref(withCode) });
    let answer = await call(await attach(!this.#delivered.has(target)));
    let sentCode = !this.#delivered.has(target);
    let mismatches = 0;
    for (;;) {
      const response = read(answer);
      const kind = response && !response.ok ? response.error.kind : undefined;
      if (kind === "runtime-missing" && !sentCode) {
        this.#delivered.delete(target);
        sentCode = true;
        answer = await call(await attach(true));
        continue;
      }
      if (kind === "runtime-mismatch" && mismatches < MISMATCH_RESENDS) {
        mismatches++;
        answer = await call(await attach(true));
        continue;
      }
      if (response && !response.ok && (kind === "runtime-mismatch" || kind === "unsupported-worker" || kind === "runtime-missing")) {
        this.#delivered.delete(target);
        throw new AppError("WORKER_UNREACHABLE", `endpoint ${target}: ${response.error.message}`, {
          hint:
            kind === "runtime-mismatch"
              ? "Its warm workers run another flash-ts build and retire after answering; call again in a moment, or restart the endpoint's workers."
              : kind === "unsupported-worker"
                ? IMAGE_HINT
                : "The worker did not take the runtime this caller sent; see the endpoint's worker logs.",
          details: { endpointId: target },
        });
      }
      if (response) this.#remember(target);
      return answer;
    }
  }

  #remember(target: string): void {
    if (this.#delivered.has(target)) return;
    if (this.#delivered.size >= MAX_TARGETS) this.#delivered.delete(this.#delivered.values().next().value as string);
    this.#delivered.add(target);
  }
}

/** A FunctionResponse, or undefined when the value is something else (a plain handler's output). */
function responseOf(value: unknown): FunctionResponse | undefined {
  try {
    return parseFunctionResponse(value);
  } catch {
    return undefined;
  }
}
