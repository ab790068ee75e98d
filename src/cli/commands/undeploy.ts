/**
 * `flash undeploy <name…> | --stale | --all`: delete this project's endpoints
 * on Runpod and drop them from the cache. Asks on a terminal; elsewhere it
 * needs --yes. Another project's endpoint is deleted only by its id with --force.
 */
import { AppError } from "../../common/errors.js";
import { formatDuration, planUndeploy, runUndeploy } from "../../provision/index.js";
import type { PlannedDeletion, UndeployEvent } from "../../provision/index.js";
import { parseCommandArgs } from "../command-args.js";
import type { Command } from "../context.js";
import { askYesNo } from "../prompt.js";
import { openCommandEndpoints } from "../project.js";

export const UNDEPLOY_HELP = `Usage: flash undeploy <name|id>... | --stale | --all [options]

Delete endpoints of this project on Runpod and drop them from
.runpod/resources.json. A name may be given with or without its "live-" prefix.

  flash undeploy gpu-worker         one endpoint, by name
  flash undeploy --stale            those whose config left the code, duplicates,
                                    and cache entries of endpoints already gone
  flash undeploy --all              every endpoint of this project

Only endpoints carrying this project's id are touched; one of another project
(or made by hand) is deleted only when named by its id together with --force.

Options:
  -y, --yes     do not ask (needed when not on a terminal)
  --force       allow deleting an endpoint named by id that is not this project's
  --cwd <dir>   the project folder (default: the current folder)
  -h, --help    show this help
`;

function describeEntry(entry: PlannedDeletion, width: number): string {
  const line = `${entry.name.padEnd(width)}  ${entry.id}`;
  return entry.mine ? line : `${line}  (not this project's: ${entry.marker ? `project ${entry.marker}` : "no project marker"}; --force)`;
}

function describeEvent(event: UndeployEvent): string {
  switch (event.kind) {
    case "deleting":
      return `  deleting ${event.entry.name} (${event.entry.id})…`;
    case "still-deleting":
      return `  … still deleting ${event.entry.name} (${formatDuration(event.ms)})`;
    case "deleted":
      return `  ✓ deleted ${event.entry.name} (${event.entry.id}) in ${formatDuration(event.ms)}`;
    case "failed":
      return `  ✖ could not delete ${event.entry.name} (${event.entry.id}): ${event.error.message}`;
    case "forgotten":
      return `  ✓ dropped ${event.entry.name} (${event.entry.id}) from the cache: it no longer exists on Runpod`;
  }
}

const command: Command = async (argv, ctx) => {
  const parsed = parseCommandArgs("undeploy", {
    args: argv,
    allowPositionals: true,
    options: {
      stale: { type: "boolean" },
      all: { type: "boolean" },
      force: { type: "boolean" },
      yes: { type: "boolean", short: "y" },
      cwd: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const { values, positionals } = parsed;
  if (values.help) {
    ctx.stdout(UNDEPLOY_HELP);
    return 0;
  }
  const { found } = await openCommandEndpoints(ctx, values.cwd, "flash undeploy");
  try {
    const plan = planUndeploy({
      request: { targets: positionals, stale: values.stale === true, all: values.all === true, force: values.force === true },
      listed: found.listed,
      rows: found.rows,
      cached: found.cached,
      projectId: found.projectId,
      specsKnown: found.specsKnown,
    });
    if (plan.delete.length === 0 && plan.forget.length === 0) {
      ctx.stderr(`Nothing to remove${values.stale ? ": no stale endpoints" : ""}.\n`);
      return 0;
    }
    if (plan.delete.length > 0) {
      const width = Math.max(...plan.delete.map((e) => e.name.length));
      const lines = plan.delete.map((e) => `  ${describeEntry(e, width)}`);
      ctx.stderr(`To delete on Runpod (${found.apiBaseUrl}), ${plan.delete.length} endpoint(s):\n${lines.join("\n")}\n`);
      if (!values.yes) {
        if (!ctx.isInteractive) {
          throw new AppError("INVALID_INPUT", "flash undeploy asks before deleting, and nobody can answer here (not a terminal); nothing was deleted", {
            hint: "Pass --yes to delete the endpoints listed above.",
          });
        }
        if (!(await askYesNo(`Delete ${plan.delete.length} endpoint(s)?`, { input: process.stdin, output: process.stderr }))) {
          ctx.stderr("Cancelled; nothing was deleted.\n");
          return 1;
        }
      }
    }
    const result = await runUndeploy(plan, {
      deleteEndpoint: (id) => found.controlPlane.deleteEndpoint(id),
      cache: found.cache,
      onEvent: (event) => ctx.stderr(describeEvent(event) + "\n"),
    });
    for (const problem of result.cacheProblems) ctx.logger.warn(`Deleted, but could not update ${found.cache.path}: ${problem}`);
    const total = plan.delete.length;
    ctx.stderr(
      `${total > 0 ? `Deleted ${result.deleted.length} of ${total} endpoint(s)` : "Done"}` +
        `${plan.forget.length > 0 ? `; dropped ${plan.forget.length} cache entr${plan.forget.length === 1 ? "y" : "ies"}` : ""}` +
        `${result.deleted.length + plan.forget.length > 0 ? `; ${found.cache.path} updated` : ""}.\n`,
    );
    return result.failed.length > 0 ? 1 : 0;
  } finally {
    await found.close();
  }
};

export default command;
