/**
 * `--auto-provision`: every endpoint the code needs, before the server
 * starts, three at a time, with a confirmation above five (refused when
 * nobody can answer, unless --yes), then orphans deleted.
 */
import type { Logger } from "../shared/logger.js";
import type { ResourceSpec } from "../sdk/resources.js";
import { formatDuration } from "../provision/index.js";
import type { Provisioner } from "../provision/index.js";

export const CONFIRM_ABOVE = 5;

export async function provisionAll(options: {
  provisioner: Provisioner;
  specs: ResourceSpec[];
  /** False when some file failed to load: its endpoints are missing from `specs` but are not orphans. */
  deleteOrphans: boolean;
  yes: boolean;
  confirm?: (question: string) => Promise<boolean>;
  print: (text: string) => void;
  logger: Logger;
}): Promise<void> {
  const { provisioner, specs, print, logger } = options;
  if (specs.length > CONFIRM_ABOVE && !options.yes) {
    print(`Found ${specs.length} endpoints to provision:`);
    for (const s of specs) print(`  • ${s.endpointName} (${s.className})`);
    const ok = options.confirm ? await options.confirm("This may take several minutes. Provision them now?") : false;
    if (!ok) {
      print(
        options.confirm
          ? "Auto-provisioning cancelled; endpoints will be provisioned on their first call."
          : "Not provisioning more than 5 endpoints without confirmation (no terminal to ask). Pass --yes to allow it; endpoints will be provisioned on their first call.",
      );
      return;
    }
  }
  print(`Provisioning ${specs.length} endpoint(s)…`);
  const started = Date.now();
  const results = await provisioner.ensureAll(specs, { concurrency: 3 });
  const counts = { cached: 0, created: 0, updated: 0, adopted: 0, failed: 0 };
  for (const r of results) {
    if (r.error) {
      counts.failed++;
      logger.error(`  ✗ ${r.spec.endpointName}: ${r.error.message}`);
    } else if (r.outcome) {
      counts[r.outcome]++;
      print(`  ✓ ${r.spec.endpointName} ${r.outcome} in ${formatDuration(r.ms)}`);
    }
  }
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`);
  print(`${counts.failed > 0 ? "⚠" : "✓"} Provisioning finished in ${formatDuration(Date.now() - started)}: ${parts.join(", ") || "nothing to do"}`);
  if (counts.failed > 0) print("  Failed endpoints will be provisioned again on their first call.");

  if (!options.deleteOrphans) {
    print("  Not looking for orphaned endpoints: some files failed to load.");
    return;
  }
  const orphans = await provisioner.findOrphans(specs);
  if (orphans.length > 0) {
    const { deleted, failed } = await provisioner.deleteEndpoints(orphans);
    for (const name of deleted) print(`  deleted orphan ${name} (its config is no longer in the code)`);
    for (const f of failed) logger.warn(`  could not delete orphan ${f.name}: ${f.error.message}`);
  }
}
