/**
 * The Runpod clients behind an Endpoint client, loaded at the first call
 * (docs/internals.md, "Endpoint"): the SDK is imported by every bundle and
 * worker, and most never call an endpoint this way. Settings come from the
 * environment when a call is made (RUNPOD_API_KEY, RUNPOD_API_BASE_URL,
 * RUNPOD_ENDPOINT_BASE_URL), as everywhere in flash-ts.
 */
import { AppError } from "../common/errors.js";
import type { ControlPlaneClient } from "../runpod/control-plane.js";
import type * as RunpodIndex from "../runpod/index.js";
import type { JobClient } from "../runpod/job-client.js";
import type { LoadBalancerClient } from "../runpod/load-balancer-client.js";

export type RunpodModule = typeof RunpodIndex;

/** Longest delay a Node timer takes (a longer one fires at once). */
export const MAX_TIMER_MS = 2_147_483_647;
/** Distinct settings (key and base URLs) whose clients are kept; more is a test or a very odd program. */
const MAX_CLIENT_SETS = 8;

export interface Clients {
  runpod: RunpodModule;
  jobs: JobClient;
  lb: LoadBalancerClient;
  controlPlane: ControlPlaneClient;
  endpointBaseUrl: string;
}

let runpodModule: Promise<RunpodModule> | undefined;
const clientSets = new Map<string, Clients>();

/**
 * The Runpod clients for the current environment. A call that would reach
 * Runpod itself (no base URL override) without a key fails here, before any
 * request; an emulator may need none, and says so with a 401 if it does.
 */
export async function clientsFor(plane: "jobs" | "control", who: string): Promise<Clients> {
  const runpod = await (runpodModule ??= import("../runpod/index.js"));
  const config = runpod.resolveRunpodConfig(process.env);
  const toRunpod = plane === "jobs" ? config.endpointBaseUrl === runpod.DEFAULT_ENDPOINT_BASE_URL : config.apiBaseUrl === runpod.DEFAULT_API_BASE_URL;
  if (!config.apiKey && toRunpod) {
    throw new AppError("UNAUTHORIZED", `${who}: RUNPOD_API_KEY is not set, and calls to Runpod need an API key`, {
      hint: "Set RUNPOD_API_KEY (Runpod console → Settings → API Keys); for `flash emulator`, set RUNPOD_ENDPOINT_BASE_URL and RUNPOD_API_BASE_URL to the URLs it prints.",
    });
  }
  const key = [config.apiKey ?? "", config.apiBaseUrl, config.endpointBaseUrl].join("\n");
  let clients = clientSets.get(key);
  if (!clients) {
    const http = runpod.createHttpClient();
    const common = { apiKey: config.apiKey, http };
    clients = {
      runpod,
      jobs: runpod.createJobClient({ ...common, endpointBaseUrl: config.endpointBaseUrl }),
      lb: runpod.createLoadBalancerClient({ ...common, endpointBaseUrl: config.endpointBaseUrl }),
      controlPlane: runpod.createControlPlaneClient({ ...common, apiBaseUrl: config.apiBaseUrl }),
      endpointBaseUrl: config.endpointBaseUrl,
    };
    clientSets.set(key, clients);
    for (const [oldKey] of clientSets) {
      if (clientSets.size <= MAX_CLIENT_SETS) break;
      clientSets.delete(oldKey); // its idle sockets close by themselves; calls in flight finish
    }
  }
  return clients;
}

export function checkTimeout(who: string, name: string, value: number | undefined): void {
  if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS)) {
    throw new AppError("INVALID_INPUT", `${who}: ${name} must be a number of milliseconds (got ${JSON.stringify(value)})`);
  }
}

/** An unknown endpoint or job reads as such; other failures of the Runpod clients pass as they are. */
export function notFound(error: unknown, runpod: RunpodModule, who: string, what: string): unknown {
  if (!runpod.isRunpodError(error, "NOT_FOUND")) return error;
  return new AppError("NOT_FOUND", `${who}: ${what} was not found (${error.message})`, {
    cause: error,
    hint: "Check the id (Runpod console → Serverless), that RUNPOD_API_KEY belongs to the account that owns the endpoint, and RUNPOD_ENDPOINT_BASE_URL if you set it. Finished jobs are kept 30 minutes (runsync ones 1 minute).",
    details: { upstreamStatus: error.upstreamStatus },
  });
}

