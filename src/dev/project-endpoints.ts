/**
 * The project's endpoints on Runpod, gathered for `flash endpoints` and
 * `flash undeploy`: the key (RUNPOD_API_KEY or `flash login`'s), the
 * provider's list, the cache, the project id, the health of each endpoint,
 * and the project's current configs from discovery (no server is started).
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import pLimit from "p-limit";
import { createDiscovery, errorIssues, remoteSpecs } from "../discovery/index.js";
import { AppError, hasCode } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { readPackageVersion } from "../common/package-info.js";
import { registerSecret } from "../common/redact.js";
import { createControlPlaneClient, createHttpClient, createJobClient, resolveRunpodConfig } from "../runpod/index.js";
import type { ControlPlaneClient, Endpoint, HealthResponse } from "../runpod/index.js";
import { displayPath, resolveApiKey } from "../runpod/credentials.js";
import type { ApiKeyResolution } from "../runpod/credentials.js";
import type { ResourceSpec } from "../sdk/resources.js";
import { formatIssue } from "../server/index.js";
import { buildEndpointReport, createResourceCache, endpointConfigHash, loadProjectId, PROJECT_MARKER_ENV, resolveWorkerRuntime } from "../provision/index.js";
import type { CachedEndpoint, EndpointRow, ResourceCache } from "../provision/index.js";

export interface ProjectEndpointsOptions {
  projectRoot: string;
  /** The environment with the project's .env applied. */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** The command, for messages (`flash endpoints`). */
  command: string;
}

export interface ProjectEndpoints {
  /** Undefined when the project never created an endpoint (no .runpod/project.json). */
  projectId: string | undefined;
  apiBaseUrl: string;
  key: ApiKeyResolution;
  /** The whole account's endpoints. */
  listed: Endpoint[];
  /** Cache entries of the Runpod backend. */
  cached: CachedEndpoint[];
  /** This project's endpoints. */
  rows: EndpointRow[];
  /** Whether the project's configs are known (its code loaded and defines remote functions). */
  specsKnown: boolean;
  /** Why they are not: load errors, or no remote functions. */
  specsProblem?: string;
  /** Endpoints of the account with another project's marker (never touched). */
  otherProjects: number;
  cache: ResourceCache;
  controlPlane: ControlPlaneClient;
  close(): Promise<void>;
}

/** The project's configs, or why they cannot be known. */
async function discoverSpecs(root: string, logger: Logger): Promise<{ specs?: ResourceSpec[]; problem?: string }> {
  const discovery = createDiscovery({ root, logger: logger.child("discovery") });
  try {
    const manifest = await discovery.discover();
    const errors = errorIssues(manifest);
    if (errors.length > 0) return { problem: `the code did not load: ${errors.map(formatIssue).join("; ")}` };
    if (manifest.functions.length === 0) return { problem: `no remote functions found in ${root}` };
    return { specs: remoteSpecs(manifest) };
  } finally {
    await discovery.close();
  }
}

/** Gathers everything; close() it. @throws AppError INVALID_CONFIG without a key. */
export async function openProjectEndpoints(options: ProjectEndpointsOptions): Promise<ProjectEndpoints> {
  const { projectRoot: root, env, logger } = options;
  const key = await resolveApiKey(env);
  if (!key.apiKey) {
    throw new AppError("INVALID_CONFIG", `${options.command} needs a Runpod API key: no RUNPOD_API_KEY and no credentials in ${displayPath(key.path, env)}${key.problem ? ` (${key.problem})` : ""}`, {
      hint: "Run flash login, or set RUNPOD_API_KEY in your shell or in .env.",
    });
  }
  registerSecret(key.apiKey);
  const config = resolveRunpodConfig(env);
  const version = readPackageVersion();
  const http = createHttpClient({ userAgent: `flash-ts/${version}`, logger: logger.child("http") });
  const controlPlane = createControlPlaneClient({ apiKey: key.apiKey, apiBaseUrl: config.apiBaseUrl, http });
  const jobs = createJobClient({ apiKey: key.apiKey, endpointBaseUrl: config.endpointBaseUrl, http, retry: { attempts: 2, baseDelayMs: 200 } });
  try {
    const stateDir = join(root, ".runpod");
    const listing = controlPlane.listEndpoints().catch((error: unknown) => {
      if (!hasCode(error, "UNAUTHORIZED") && !hasCode(error, "FORBIDDEN")) throw error;
      const source = key.source === "credentials" ? `the key in ${displayPath(key.path, env)}` : "RUNPOD_API_KEY";
      throw new AppError("UNAUTHORIZED", `Runpod refused ${source} (${config.apiBaseUrl})`, {
        hint: key.source === "credentials" ? "Run flash login with a valid key, or set RUNPOD_API_KEY." : "Set RUNPOD_API_KEY to a valid key (or unset it to use the one flash login stored).",
        cause: error,
      });
    });
    const [listed, discovered] = await Promise.all([listing, discoverSpecs(root, logger)]);
    const hasProject = (await stat(join(stateDir, "project.json")).catch(() => undefined)) !== undefined;
    // Never mints an id here: a project without one has created nothing.
    const projectId = hasProject ? await loadProjectId(stateDir, { logger, listEndpoints: async () => listed }) : undefined;
    const cache = createResourceCache(stateDir, logger);
    const cached = hasProject ? await cache.list("runpod") : [];
    const runtime = resolveWorkerRuntime(env, version, projectId ?? "");
    // The hash flash dev stamps: it includes a hash of the key the workers get (docs/internals.md, "Project state in .runpod").
    runtime.secretEnv = { RUNPOD_API_KEY: key.apiKey };
    const mine = projectId === undefined ? [] : listed.filter((e) => e.env?.[PROJECT_MARKER_ENV] === projectId);
    const health = new Map<string, HealthResponse | Error>();
    const limit = pLimit(4);
    await Promise.all(
      mine.map((e) =>
        limit(async () => {
          health.set(e.id, await jobs.health(e.id).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
        }),
      ),
    );
    const rows =
      projectId === undefined
        ? []
        : buildEndpointReport({ listed, cached, projectId, specs: discovered.specs, hashOf: (spec) => endpointConfigHash(spec, runtime), health });
    const otherProjects = listed.filter((e) => {
      const marker = e.env?.[PROJECT_MARKER_ENV];
      return marker !== undefined && marker !== projectId;
    }).length;
    return {
      projectId,
      apiBaseUrl: config.apiBaseUrl,
      key,
      listed,
      cached,
      rows,
      specsKnown: discovered.specs !== undefined,
      ...(discovered.problem ? { specsProblem: discovered.problem } : {}),
      otherProjects,
      cache,
      controlPlane,
      close: () => http.close(),
    };
  } catch (error) {
    await http.close();
    throw error;
  }
}
