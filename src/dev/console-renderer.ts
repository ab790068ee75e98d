/**
 * The console of `flash dev`: one subscriber that turns session events into
 * the lines a developer reads (the banner, reload lines, + / - routes, issue
 * lines, provisioning), and the calls' output and live state
 * (call-renderer.ts). Human output goes to `print` (stderr in the CLI);
 * errors and warnings through the logger, so their level and colour apply.
 * Request lines are the server's (request-log.ts).
 */
import { formatIssue } from "../server/route-table.js";
import { formatRouteTable } from "../server/route-banner.js";
import type { Logger } from "../common/logger.js";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { renderCalls } from "./call-renderer.js";
import type { TerminalStream } from "./live-region.js";
import { formatDuration } from "../provision/provisioner.js";
import { CONFIRM_ABOVE } from "./auto-provision.js";
import type { DevSessionEventSource, DevSessionEvents } from "./session-events.js";

export interface ConsoleOutput {
  /** One block of human text (a newline is added). */
  print(text: string): void;
  logger: Logger;
  /** The session's clock (when calls have been in flight long enough to show their state). Default: the system's. */
  clock?: Clock;
}

/** The renderer a session uses unless told otherwise: subscribes, returns the unsubscribe function. */
export type SessionRenderer = (events: DevSessionEventSource, output: ConsoleOutput) => () => void;

const ms = (value: number): string => formatDuration(Math.round(value));

function describeChange(paths: readonly string[]): string {
  const shown = paths.slice(0, 3).join(", ");
  return paths.length > 3 ? `${shown} and ${paths.length - 3} more changed` : `${shown} changed`;
}

type Handlers = { [K in keyof DevSessionEvents]?: (event: DevSessionEvents[K]) => void };

/**
 * The console renderer. `terminal`: the TTY the process writes its human
 * output to (stderr), where calls in flight get live lines; without one,
 * plain lines.
 */
export function createConsoleRenderer(options: { terminal?: TerminalStream | undefined } = {}): SessionRenderer {
  return (events, output) => {
    const offCalls = renderCalls(events, { ...output, clock: output.clock ?? systemClock, terminal: options.terminal });
    const offRest = renderSessionEvents(events, output);
    return () => {
      offRest();
      offCalls();
    };
  };
}

/** Plain lines, whatever the output is: the renderer a session uses unless told otherwise. */
export const renderConsole: SessionRenderer = createConsoleRenderer();

const renderSessionEvents: SessionRenderer = (events, { print, logger }) => {
  const handlers: Handlers = {
    discovered(e) {
      for (const issue of e.issues) logger.error(`✖ ${formatIssue(issue)}`);
      for (const c of e.conflicts) {
        logger.error(
          `✖ two different configs are named "${c.name}" (${c.files[0]} and ${c.files[1]}); they would share the endpoint ${c.endpointName}. ` +
            "Give them different names, or define the config once and import it.",
        );
      }
    },
    provisionConfirm(e) {
      print(`Found ${e.endpoints.length} endpoints to provision:`);
      for (const s of e.endpoints) print(`  • ${s.endpointName} (${s.className})`);
    },
    provisionSkipped(e) {
      print(
        e.reason === "declined"
          ? "Auto-provisioning cancelled; endpoints will be provisioned on their first call."
          : `Not provisioning more than ${CONFIRM_ABOVE} endpoints without confirmation (no terminal to ask). Pass --yes to allow it; endpoints will be provisioned on their first call.`,
      );
    },
    provisionStarted: (e) => print(`Provisioning ${e.count} endpoint(s)…`),
    provisionResult(e) {
      if (e.ok) print(`  ✓ ${e.endpointName} ${e.outcome} in ${ms(e.durationMs)}`);
      else logger.error(`  ✗ ${e.endpointName}: ${e.error.message}`);
    },
    provisionFinished(e) {
      const parts = Object.entries(e.counts)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} ${k}`);
      print(`${e.counts.failed > 0 ? "⚠" : "✓"} Provisioning finished in ${ms(e.durationMs)}: ${parts.join(", ") || "nothing to do"}`);
      if (e.counts.failed > 0) print("  Failed endpoints will be provisioned again on their first call.");
    },
    orphansSkipped: () => print("  Not looking for orphaned endpoints: some files failed to load."),
    orphansDeleted(e) {
      for (const name of e.deleted) print(`  deleted orphan ${name} (its config is no longer in the code)`);
      for (const f of e.failed) logger.warn(`  could not delete orphan ${f.name}: ${f.error.message}`);
    },
    orphansFound(e) {
      print(
        `Note: ${e.names.length} endpoint(s) in .runpod/resources.json are no longer in the code: ${e.names.join(", ")}.` +
          " Start with --auto-provision to delete them.",
      );
    },
    portMoved: (e) => print(`Port ${e.requested} is in use, using ${e.port} instead.`),
    ready(e) {
      print(
        [
          "",
          formatRouteTable(e.routes, e.publicUrl),
          `  Backend: ${e.backend.description} — ${e.backendReason}`,
          `  Env file: ${e.envFile}`,
          `  ${e.watch ?? "Reload is off (--no-reload)."}`,
          `  Started in ${ms(e.startupMs)}. Press Ctrl+C to stop.`,
          "",
        ].join("\n"),
      );
    },
    envChanged(e) {
      print(
        `.env changed (${e.keys.join(", ")}): ` +
          (e.restartsBackend ? "restarting the backend and reloading with the new values" : "reloading with the new values"),
      );
      if (e.keyIgnored) print("  RUNPOD_API_KEY is set now; this session stays on the local emulator (restart flash dev to use Runpod).");
    },
    reloadFinished(e) {
      if (!e.ok) {
        logger.error(`✖ reload failed after ${Math.round(e.durationMs)} ms: ${e.error.message}; still serving the last good version`);
        return;
      }
      print(`Reloaded ${e.routes} route(s) in ${Math.round(e.durationMs)} ms (${describeChange(e.paths)})`);
      for (const r of e.added) print(`  + ${r}`);
      for (const r of e.removed) print(`  - ${r}`);
    },
    workerOutput(e) {
      if (e.stream === "stderr") logger.warn(e.line);
      else logger.info(e.line);
    },
    endpointsDeleted(e) {
      for (const name of e.deleted) print(`  deleted ${name}`);
      for (const f of e.failed) logger.warn(`  could not delete ${f.name}: ${f.error.message}`);
    },
    warmEndpointsKept(e) {
      logger.warn(
        `Kept endpoints with warm workers (they bill while idle): ${e.endpoints.map((w) => `${w.name} (workersMin ${w.workersMin})`).join(", ")}. ` +
          "Use --cleanup to delete this project's endpoints on exit, or flash undeploy <name> to delete one.",
      );
    },
    endpointReviewFailed: (e) => logger.warn(`could not review endpoints on exit: ${e.error.message}`),
    debug: (e) => logger.debug(e.message),
  };
  return events.onAny((kind, event) => (handlers[kind] as ((e: typeof event) => void) | undefined)?.(event));
};
