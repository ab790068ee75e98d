/**
 * The worker runtime as the bootstrap loads it: `startFromBootstrap()` takes
 * over the process (docs/internals.md, "The worker runtime"). It runs the
 * same runWorker() as `flash worker`, with:
 *
 * - its module cache in the folder of the bundle (`<cache>/runtimes/<hash>/`),
 *   where `node_modules/flash-ts` re-exports this bundle, so user modules use
 *   this runtime's SDK (one registry);
 * - its identity (version and the bundle's sha256) for the mismatch check;
 * - the job the bootstrap took, or the servers it listens on and the
 *   requests it has read;
 * - nested calls that carry this very bundle to the endpoints they reach;
 * - the process's signals: SIGTERM/SIGINT finish the work in progress, a
 *   second one stops at once.
 */
import { dirname } from "node:path";
import { createLogger } from "../common/logger.js";
import type { BootstrapHandoverV1 } from "./bootstrap/bootstrap.js";
import { runWorker } from "./index.js";
import type { WorkerHandle } from "./index.js";
import { installProcessGuard } from "./process-guard.js";
import { RuntimeDelivery } from "../calls/runtime-delivery.js";
import { nestedCalls } from "./nested-calls.js";
import { loadRuntimeSource } from "./runtime-source.js";
import type { WorkerJob } from "./platform-client.js";

/** Takes over a worker process from the bootstrap; exits the process when the worker stops. */
export async function startFromBootstrap(handover: BootstrapHandoverV1, version: string): Promise<void> {
  const env = process.env;
  const logger = createLogger().child("worker");
  const source = loadRuntimeSource(handover.runtimeFile, version);
  const pending: { requested?: "close" | "abort"; handle?: WorkerHandle } = {};
  const apply = (how: "close" | "abort"): void => {
    if (!pending.handle) pending.requested = how;
    else void (how === "abort" ? pending.handle.abort() : pending.handle.close());
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) logger.info(`${signal}: finishing work in progress, then stopping (again to force)`);
    apply(signals === 1 ? "close" : "abort");
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  installProcessGuard({ env, logger, onOrphaned: () => apply("abort") });

  const handle = await runWorker({
    env,
    logger,
    version,
    identity: { version, hash: source.hash },
    cacheDir: dirname(handover.runtimeFile),
    sdkEntry: handover.runtimeFile,
    calls: nestedCalls(env, logger.child("nested"), () => new RuntimeDelivery(source)),
    ...(handover.queue ? { initialJobs: handover.queue.jobs as WorkerJob[] } : {}),
    ...(handover.lb ? { adopt: handover.lb } : {}),
  });
  pending.handle = handle;
  if (pending.requested) apply(pending.requested);
  logger.info(`flash-ts runtime ${version} (${source.hash.slice(0, 12)}) took over from the bootstrap`);
  await handle.closed;
  process.exit(handle.exitCode);
}
