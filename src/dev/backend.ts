/**
 * The execution backend of a dev session: Runpod (RUNPOD_API_KEY) or the
 * embedded emulator, behind the same clients. Only the base URLs and the key
 * differ, so the local path exercises exactly the code the Runpod path runs.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { parseEgressPolicy, parseWorkerMode, startEmulator } from "../emulator/index.js";
import type { EmulatorHandle } from "../emulator/index.js";
import type { Logger } from "../common/logger.js";
import { readPackageVersion } from "../common/package-info.js";
import {
  createControlPlaneClient,
  createHttpClient,
  createJobClient,
  createLoadBalancerClient,
  loadBalancerBaseUrl,
  resolveRunpodConfig,
} from "../runpod/index.js";
import { createProvisioner, createResourceCache, loadProjectId, resolveWorkerRuntime } from "../provision/index.js";
import type { Provisioner } from "../provision/index.js";
import { resolveApiKey } from "../runpod/credentials.js";
import type { BackendChoice, InspectTarget } from "./dev-options.js";
import type { JobApi, LoadBalancerApi } from "../calls/index.js";
import { RuntimeDelivery } from "../calls/runtime-delivery.js";
import { PACKAGED_RUNTIME_FILE, loadRuntimeSource } from "../worker/runtime-source.js";

export interface Backend {
  kind: BackendChoice;
  /** Human description for the banner, e.g. "local emulator at http://127.0.0.1:43121". */
  description: string;
  provisioner: Provisioner;
  /** The job API QB calls go through (its stream and health show calls in flight). */
  queue: Required<JobApi>;
  /** LB calls go through this client. */
  loadBalancer: LoadBalancerApi;
  loadBalancerUrl(endpointId: string): string;
  /**
   * The variables a Runpod client in another process needs to reach this
   * backend (the Endpoint clients of a `flash run` script): base URLs and the
   * key. Secret: only for processes of this user.
   */
  clientEnv: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export interface BackendOptions {
  kind: BackendChoice;
  projectRoot: string;
  /** `<project>/.runpod` */
  stateDir: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Where worker output goes (already prefixed with the endpoint name). */
  printWorkerLine: (line: string, stream: "stdout" | "stderr") => void;
  /** `--inspect` (local only): workers get an inspector each, and nothing times out a paused call. */
  inspect?: InspectTarget;
}

/** The banner's word on --inspect: where debuggers attach. */
function inspectNote(inspect: InspectTarget | undefined): string {
  if (!inspect) return "";
  const last = inspect.port + inspect.count - 1;
  return `; workers' inspectors on ${inspect.host}:${inspect.port} (the first worker; the next on ${inspect.port + 1}, … up to ${last}); execution timeouts are off`;
}

export async function startBackend(options: BackendOptions): Promise<Backend> {
  const { kind, stateDir, env, logger } = options;
  const version = readPackageVersion();
  let emulator: EmulatorHandle | undefined;
  let apiKey: string | undefined;
  let apiBaseUrl: string;
  let endpointBaseUrl: string;
  if (kind === "local") {
    // The emulator starts workers from endpoint start commands (a shell
    // command, for non-flash images): it must not take requests from anyone
    // but this process. A fresh key per session; workers get their own key.
    // FLASH_EMULATOR_API_KEY fixes it (benchmarks and tools that call the embedded emulator directly).
    apiKey = env.FLASH_EMULATOR_API_KEY?.trim() || randomBytes(32).toString("base64url");
    emulator = await startEmulator({
      // FLASH_EMULATOR_WORKERS=container: workers are Docker containers of each endpoint's image.
      workers: parseWorkerMode(env.FLASH_EMULATOR_WORKERS, "FLASH_EMULATOR_WORKERS"),
      workerEgress: parseEgressPolicy(env.FLASH_EMULATOR_WORKER_EGRESS),
      apiKey,
      stateDir: join(stateDir, "emulator"),
      cwd: options.projectRoot,
      // Calls submit with /run (docs/internals.md, "Function calls") and read the result at
      // once: keep ended jobs as long as runsync's, not /run's 30 minutes of inputs and outputs.
      resultRetention: { runMs: 60_000 },
      logger: logger.child("emulator"),
      onWorkerLog: (line) => options.printWorkerLine(`[${line.endpointName}] ${line.line}`, line.stream),
      ...(options.inspect ? { inspect: { host: options.inspect.host, basePort: options.inspect.port, count: options.inspect.count }, executionTimeouts: false } : {}),
    });
    apiBaseUrl = emulator.url;
    endpointBaseUrl = `${emulator.url}/v2`;
  } else {
    const config = resolveRunpodConfig(env);
    // RUNPOD_API_KEY, else the key `flash login` stored (docs/internals.md, "Credentials").
    apiKey = (await resolveApiKey(env)).apiKey;
    apiBaseUrl = config.apiBaseUrl;
    endpointBaseUrl = config.endpointBaseUrl;
  }
  const http = createHttpClient({ userAgent: `flash-ts/${version}`, logger: logger.child("http") });
  const controlPlane = createControlPlaneClient({ apiKey, apiBaseUrl, http });
  // After the control plane: a project.json that cannot be read is recovered from the endpoints' markers.
  let projectId: string;
  try {
    projectId = await loadProjectId(stateDir, { logger, listEndpoints: () => controlPlane.listEndpoints() });
  } catch (error) {
    await Promise.allSettled([emulator?.close(), http.close()]);
    throw error;
  }
  const runtime = resolveWorkerRuntime(env, version, projectId);
  // Workers call other endpoints (pipelines) with the key; it goes to the
  // endpoint's env only, never into the cache or the config hash.
  if (kind !== "local" && apiKey) runtime.secretEnv = { RUNPOD_API_KEY: apiKey };
  // Workers started by the bootstrap take their runtime from the requests (docs/internals.md,
  // "The worker runtime"): every call carries this package's bundle reference, and the bundle where it is missing.
  const delivery = new RuntimeDelivery(loadRuntimeSource(PACKAGED_RUNTIME_FILE, version));
  const jobs = delivery.jobs(createJobClient({ apiKey, endpointBaseUrl, http }));
  const lb = delivery.loadBalancer(createLoadBalancerClient({ apiKey, endpointBaseUrl, http }));
  const provisioner = createProvisioner({
    controlPlane,
    cache: createResourceCache(stateDir, logger),
    backend: kind,
    runtime,
    logger,
  });
  let closing: Promise<void> | undefined;
  return {
    kind,
    description: emulator ? `local emulator at ${emulator.url}${inspectNote(options.inspect)}` : `Runpod (${apiBaseUrl})`,
    provisioner,
    queue: jobs,
    loadBalancer: lb,
    loadBalancerUrl: (id) => loadBalancerBaseUrl(id, endpointBaseUrl),
    clientEnv: {
      RUNPOD_API_BASE_URL: apiBaseUrl,
      RUNPOD_ENDPOINT_BASE_URL: endpointBaseUrl,
      ...(apiKey ? { RUNPOD_API_KEY: apiKey } : {}),
    },
    close: () =>
      (closing ??= (async () => {
        await Promise.allSettled([emulator?.close(), http.close()]);
      })()),
  };
}
