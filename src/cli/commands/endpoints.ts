/**
 * `flash endpoints`: this project's endpoints on Runpod, their workers and
 * queue, what bills while idle, and what the code no longer has.
 */
import { formatEndpointTable, isStale } from "../../provision/endpoint-report.js";
import { parseCommandArgs } from "../command-args.js";
import type { Command } from "../context.js";
import { openCommandEndpoints } from "../project.js";

export const ENDPOINTS_HELP = `Usage: flash endpoints [options]

List this project's endpoints on Runpod (those carrying its project id), from
the provider and .runpod/resources.json: type, compute, workers (min/max,
running, idle), queue length, whether it bills while idle (workersMin > 0),
and whether its config is still in the code.

Options:
  --json        print JSON instead of a table
  --cwd <dir>   the project folder (default: the current folder)
  -h, --help    show this help

The key is RUNPOD_API_KEY (shell or .env), else the one flash login stored.
`;

const command: Command = async (argv, ctx) => {
  const { values } = parseCommandArgs("endpoints", { args: argv, options: { json: { type: "boolean" }, cwd: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    ctx.stdout(ENDPOINTS_HELP);
    return 0;
  }
  const { root, found } = await openCommandEndpoints(ctx, values.cwd, "flash endpoints");
  try {
    if (values.json) {
      ctx.stdout(
        JSON.stringify(
          {
            projectId: found.projectId ?? null,
            apiBaseUrl: found.apiBaseUrl,
            specsKnown: found.specsKnown,
            ...(found.specsProblem ? { specsProblem: found.specsProblem } : {}),
            endpoints: found.rows,
          },
          null,
          2,
        ) + "\n",
      );
      return 0;
    }
    if (found.projectId === undefined) {
      ctx.stdout(`This project has not created any endpoints (no ${root}/.runpod/project.json).\n`);
      return 0;
    }
    if (found.rows.length === 0) {
      ctx.stdout(`No endpoints of this project on Runpod (${found.apiBaseUrl}).\n`);
    } else {
      ctx.stdout(formatEndpointTable(found.rows) + "\n");
    }
    const notes: string[] = [];
    const warm = found.rows.filter((r) => r.onProvider && r.billsWhileIdle);
    if (warm.length > 0) notes.push(`Bills while idle: ${warm.map((r) => `${r.name} (workersMin ${r.workersMin})`).join(", ")}.`);
    const stale = found.rows.filter(isStale);
    if (stale.length > 0) notes.push(`Stale (no longer in the code, duplicates, or gone from Runpod): ${stale.length}. Remove them with: flash undeploy --stale`);
    if (found.specsProblem) notes.push(`Could not tell which configs are still in the code: ${found.specsProblem}`);
    const unhealthy = found.rows.filter((r) => r.healthError);
    if (unhealthy.length > 0) notes.push(`No worker counts for ${unhealthy.map((r) => `${r.name} (${r.healthError})`).join(", ")}.`);
    if (notes.length > 0) ctx.stdout("\n" + notes.join("\n") + "\n");
    return 0;
  } finally {
    await found.close();
  }
};

export default command;
