/**
 * Endpoints at start-up. With `--auto-provision`: every endpoint the code
 * needs, before the server starts, three at a time, with a confirmation
 * above five (refused when nobody can answer, unless --yes), then orphans
 * deleted. Without it: a note naming the orphans. Reported as session
 * events; the console renderer prints them.
 */
import type { Clock } from "../common/clock.js";
import { errorIssues, remoteSpecs } from "../discovery/manifest.js";
import type { Manifest } from "../discovery/manifest.js";
import type { ResourceSpec } from "../sdk/resources.js";
import type { Provisioner } from "../provision/index.js";
import type { DevSessionEmitter, DevSessionEvents } from "./session-events.js";

export const CONFIRM_ABOVE = 5;

/** True when every file loaded: only then can an endpoint missing from the code be called an orphan. */
export function loadedCleanly(manifest: Manifest): boolean {
  return errorIssues(manifest).length === 0;
}

export interface ProvisionOnStartOptions {
  provisioner: Provisioner;
  manifest: Manifest;
  autoProvision: boolean;
  yes: boolean;
  /** Asks a yes/no question; absent: nobody can answer. */
  confirm?: (question: string) => Promise<boolean>;
  events: DevSessionEmitter;
  clock: Clock;
}

export async function provisionOnStart(options: ProvisionOnStartOptions): Promise<void> {
  const { provisioner, manifest, events } = options;
  const specs = remoteSpecs(manifest);
  // A file that failed to load has no specs in the manifest: its endpoints
  // would look like orphans. Orphans are only judged on a clean load.
  const clean = loadedCleanly(manifest);
  if (options.autoProvision) return provisionAll({ ...options, specs, deleteOrphans: clean });
  if (!clean) return;
  const orphans = await provisioner.findOrphans(specs).catch(() => []);
  if (orphans.length > 0) events.emit("orphansFound", { names: orphans.map((o) => o.name) });
}

async function provisionAll(options: ProvisionOnStartOptions & { specs: ResourceSpec[]; deleteOrphans: boolean }): Promise<void> {
  const { provisioner, specs, events, clock } = options;
  if (specs.length > CONFIRM_ABOVE && !options.yes) {
    events.emit("provisionConfirm", { endpoints: specs.map((s) => ({ endpointName: s.endpointName, className: s.className })) });
    const ok = options.confirm ? await options.confirm("This may take several minutes. Provision them now?") : false;
    if (!ok) {
      events.emit("provisionSkipped", { reason: options.confirm ? "declined" : "no-terminal", count: specs.length });
      return;
    }
  }
  events.emit("provisionStarted", { count: specs.length });
  const started = clock.now();
  const results = await provisioner.ensureAll(specs, { concurrency: 3 });
  const counts: DevSessionEvents["provisionFinished"]["counts"] = { cached: 0, created: 0, updated: 0, adopted: 0, failed: 0 };
  for (const r of results) {
    if (r.error) {
      counts.failed++;
      events.emit("provisionResult", { endpointName: r.spec.endpointName, ok: false, error: r.error });
    } else if (r.outcome) {
      counts[r.outcome]++;
      events.emit("provisionResult", { endpointName: r.spec.endpointName, ok: true, outcome: r.outcome, durationMs: r.ms });
    }
  }
  events.emit("provisionFinished", { durationMs: clock.now() - started, counts });

  if (!options.deleteOrphans) {
    events.emit("orphansSkipped", {});
    return;
  }
  const orphans = await provisioner.findOrphans(specs);
  if (orphans.length > 0) events.emit("orphansDeleted", await provisioner.deleteEndpoints(orphans));
}
