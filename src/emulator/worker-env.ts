/**
 * The environment a worker process gets: what Runpod gives a worker (webhook
 * URL templates, pod id, worker key, endpoint id, ping interval; PORT and
 * PORT_HEALTH for load-balanced endpoints), base URLs pointing back at the
 * emulator so the worker's own SDK calls land here, the endpoint's `env`, and
 * the few host variables tools need to run (PATH, HOME, TMPDIR, locale,
 * certificates, npm config). Nothing else leaks from the emulator's
 * environment — in particular not its RUNPOD_API_KEY: a worker's
 * RUNPOD_API_KEY is its own worker key (unless the endpoint env sets one), so
 * its nested SDK calls get through an emulator that requires a key without
 * the emulator's client key ever reaching worker processes.
 *
 * Container workers (docs/internals.md, "The emulator") get no host
 * variables (the image has its own PATH and HOME), reach the emulator at
 * its address on their Docker network, and reach the outside only through
 * the emulator's egress proxy (HTTP(S)_PROXY), when it allows any.
 *
 * Every worker gets RUNPOD_SKIP_AUTO_SYSTEM_CHECKS=true unless the endpoint
 * env sets it: runpod-python's start-up checks dial out (and check for GPUs
 * and CUDA), which an offline machine or a CPU-only one would fail, killing
 * the worker before it takes a job.
 */
import { WORKER_ENV } from "../runpod/wire-types.js";

/** Everything the environment of one worker is made from. */
export interface WorkerEnvInput {
  /** The emulator's base URL (`http://127.0.0.1:<port>`). */
  baseUrl: string;
  endpointId: string;
  endpointType: "QUEUE" | "LOAD_BALANCER";
  workerId: string;
  workerKey: string;
  /** The endpoint's `env`. */
  endpointEnv: Record<string, string>;
  /** LB only: the port the worker serves on (also its health port). */
  port?: number;
  /** The emulator's own environment, where host variables are copied from. */
  hostEnv: NodeJS.ProcessEnv;
  /** Extra variables for every worker (e.g. a test's cache folder); the endpoint env wins over them. */
  extra?: Record<string, string>;
  pingIntervalMs?: number;
  /**
   * The emulator's process id, given as FLASH_PARENT_PID: flash-ts's worker
   * runtime exits when that process is gone, so even a SIGKILLed emulator
   * leaves no worker behind.
   */
  parentPid?: number;
  /** `process` (default): a local process; `container`: a Docker container. */
  mode?: "process" | "container";
  /** Container workers: the egress proxy's URL, when the outside may be reached at all. */
  proxyUrl?: string;
}

const HOST_VARS = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "NODE_EXTRA_CA_CERTS", "SYSTEMROOT", "USER"];

/** The complete environment of a worker process (nothing else is inherited). */
export function buildWorkerEnv(input: WorkerEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  const container = input.mode === "container";
  if (!container) {
    for (const name of HOST_VARS) {
      const value = input.hostEnv[name];
      if (value !== undefined) env[name] = value;
    }
    for (const [name, value] of Object.entries(input.hostEnv)) {
      if (value !== undefined && /^npm_config_/i.test(name)) env[name] = value;
    }
  }
  env.RUNPOD_SKIP_AUTO_SYSTEM_CHECKS = "true";
  if (container && input.proxyUrl) {
    const direct = new URL(input.baseUrl).hostname;
    Object.assign(env, {
      HTTP_PROXY: input.proxyUrl,
      HTTPS_PROXY: input.proxyUrl,
      http_proxy: input.proxyUrl,
      https_proxy: input.proxyUrl,
      NO_PROXY: direct,
      no_proxy: direct,
      // Node's own fetch and http honour the variables only when asked (Node ≥ 22.21 / 24.5).
      NODE_USE_ENV_PROXY: "1",
    });
  }
  // Defaults the extra and endpoint variables may override. The emulator accepts the worker
  // key on client routes, so a worker can call other endpoints (pipelines) out of the box.
  env.RUNPOD_API_KEY = input.workerKey;
  Object.assign(env, input.extra ?? {});
  const v2 = `${input.baseUrl}/v2/${input.endpointId}`;
  const platform: Record<string, string> = {
    [WORKER_ENV.POD_ID]: input.workerId,
    RUNPOD_POD_HOSTNAME: input.workerId,
    [WORKER_ENV.AI_API_KEY]: input.workerKey,
    [WORKER_ENV.ENDPOINT_ID]: input.endpointId,
    RUNPOD_ENDPOINT_BASE_URL: `${input.baseUrl}/v2`,
    RUNPOD_API_BASE_URL: input.baseUrl,
  };
  if (input.parentPid !== undefined) platform.FLASH_PARENT_PID = String(input.parentPid);
  // A local process must never install system packages on the developer's machine (systemDependencies).
  if (!container) platform.FLASH_SYSTEM_DEPENDENCIES_INSTALL = "0";
  if (input.endpointType === "QUEUE") {
    // The templates already carry a query: workers append `&job_in_progress=…`, `&isStream=…`.
    platform[WORKER_ENV.GET_JOB] = `${v2}/job-take/$ID?gpu=EMU`;
    platform[WORKER_ENV.POST_OUTPUT] = `${v2}/job-done/$RUNPOD_POD_ID/$ID?gpu=EMU`;
    platform[WORKER_ENV.POST_STREAM] = `${v2}/job-stream/$RUNPOD_POD_ID/$ID?gpu=EMU`;
    platform[WORKER_ENV.PING] = `${v2}/ping/$RUNPOD_POD_ID?gpu=EMU`;
    platform[WORKER_ENV.PING_INTERVAL] = String(input.pingIntervalMs ?? 10_000);
  }
  // The endpoint env is the user's: it may set RUNPOD_API_KEY, LOG levels, anything…
  Object.assign(env, platform, input.endpointEnv);
  // …except the identity and wiring of the worker, which the platform owns.
  Object.assign(env, pickIdentity(platform));
  if (input.port !== undefined) {
    // Several local workers cannot share a port, so the emulator always picks it.
    env[WORKER_ENV.PORT] = String(input.port);
    env[WORKER_ENV.PORT_HEALTH] = String(input.port);
  }
  return env;
}

function pickIdentity(platform: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const owned = [WORKER_ENV.POD_ID, WORKER_ENV.AI_API_KEY, WORKER_ENV.ENDPOINT_ID, WORKER_ENV.GET_JOB, WORKER_ENV.POST_OUTPUT, WORKER_ENV.POST_STREAM, WORKER_ENV.PING];
  // The base URLs too: a worker's nested calls must come back to this emulator.
  for (const name of [...owned, "RUNPOD_ENDPOINT_BASE_URL", "RUNPOD_API_BASE_URL", "FLASH_PARENT_PID", "FLASH_SYSTEM_DEPENDENCIES_INSTALL"]) {
    if (platform[name] !== undefined) out[name] = platform[name];
  }
  return out;
}
