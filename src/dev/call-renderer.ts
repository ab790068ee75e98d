/**
 * The console's view of function calls (docs/internals.md, "Live call
 * state"): each function's console output, prefixed with its endpoint (a
 * nested call's with its callee's), and, for every call in flight for more
 * than a second, its state as it changes — provisioning, queued, worker
 * initializing, throttled (with a hint), running, done in N s.
 *
 * On a terminal the states of the calls in flight are one line each at the
 * bottom, redrawn in place (live-region.ts), with elapsed time ticking; when
 * output is piped each change is one plain line, and a state that lasts gets
 * a "still …" line now and then. A call that ends within the second prints
 * nothing but its output.
 */
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import { applyCallEvent, describeCall, phaseOf, startView, THROTTLED_HINT } from "./call-view.js";
import type { CallPhase, CallView } from "./call-view.js";
import { LiveRegion } from "./live-region.js";
import type { TerminalStream } from "./live-region.js";
import type { DevSessionEventSource, DevSessionEvents } from "./session-events.js";
import { WAIT_ENDED } from "../common/abort-reason.js";

export interface CallRendererOutput {
  print(text: string): void;
  logger: Logger;
  clock: Clock;
  /** A terminal to keep live lines on; plain lines without one. */
  terminal?: TerminalStream | undefined;
}

/** A call shows its state once it has been in flight this long. */
export const SHOW_AFTER_MS = 1000;
/** Piped output: a state that lasts this long is said again ("still queued, 30 s"). */
const STILL_EVERY_MS = 15_000;
/** Calls whose state is followed at once; more are shown only by their output. */
const MAX_TRACKED = 256;
/** Lines of the terminal region; more calls in flight are summed up in one more line. */
const MAX_REGION_LINES = 8;

interface Tracked {
  view: CallView;
  /** In flight past SHOW_AFTER_MS: its state is on the console. */
  shown: boolean;
  /** The phase last printed (piped output), and when. */
  printed: CallPhase | undefined;
  printedAt: number;
  hinted: boolean;
  stop: AbortController;
}

const seconds = (ms: number): string => `${Math.floor(ms / 1000)} s`;

export function renderCalls(events: DevSessionEventSource, output: CallRendererOutput): () => void {
  const { print, logger, clock } = output;
  const calls = new Map<number, Tracked>();
  const region = output.terminal ? new LiveRegion(output.terminal) : undefined;
  let provisioning: { count: number; done: number; startedAt: number } | undefined;
  let ticking: AbortController | undefined;

  const visible = (): Tracked[] => [...calls.values()].filter((t) => t.shown);

  /** The terminal region: one line per call shown, and --auto-provision's progress. */
  const redraw = (): void => {
    if (!region) return;
    const now = clock.now();
    const lines: string[] = [];
    if (provisioning) lines.push(`Provisioning ${provisioning.count} endpoint(s)… ${provisioning.done}/${provisioning.count} ready · ${seconds(now - provisioning.startedAt)}`);
    const shown = visible();
    for (const t of shown.slice(0, MAX_REGION_LINES)) lines.push(`… ${describeCall(t.view)} · ${seconds(now - t.view.startedAt)}`);
    if (shown.length > MAX_REGION_LINES) lines.push(`… and ${shown.length - MAX_REGION_LINES} more call(s) in flight`);
    region.set(lines);
  };

  /** Once a second while something is shown: the terminal's elapsed times, the piped "still" lines. */
  const tick = (): void => {
    if (ticking) return;
    const stop = (ticking = new AbortController());
    void (async () => {
      while (!stop.signal.aborted && (visible().length > 0 || provisioning)) {
        await clock.sleep(1000, stop.signal).catch(() => undefined);
        if (stop.signal.aborted) return;
        if (region) redraw();
        else for (const t of visible()) still(t);
      }
      if (ticking === stop) ticking = undefined;
    })();
  };

  /** Piped output: a waiting state that lasts is said again, with how long the call has waited. */
  const still = (t: Tracked): void => {
    const now = clock.now();
    if (t.printed === undefined || t.printed === "running" || now - t.printedAt < STILL_EVERY_MS) return;
    t.printedAt = now;
    print(`${describeCall(t.view).replace(/: /, ": still ")} (${seconds(now - t.view.startedAt)})`);
  };

  /** Says the call's state if it changed, and the throttled hint the first time. */
  const show = (t: Tracked): void => {
    const phase = phaseOf(t.view);
    const hint = phase === "throttled" && !t.hinted;
    if (hint) t.hinted = true;
    if (region) {
      // The state line is live; the hint stays above it.
      if (hint) print(`[${t.view.endpoint}] hint: ${THROTTLED_HINT}`);
      return redraw();
    }
    if (phase === t.printed) return;
    t.printed = phase;
    t.printedAt = clock.now();
    print(describeCall(t.view));
    if (hint) print(`  hint: ${THROTTLED_HINT}`);
  };

  const started = (e: DevSessionEvents["callStarted"]): void => {
    if (calls.size >= MAX_TRACKED) return;
    const t: Tracked = { view: startView(e, clock.now()), shown: false, printed: undefined, printedAt: 0, hinted: false, stop: new AbortController() };
    calls.set(e.callId, t);
    clock.sleep(SHOW_AFTER_MS, t.stop.signal).then(
      () => {
        if (calls.get(e.callId) !== t) return;
        t.shown = true;
        show(t);
        tick();
      },
      () => undefined,
    );
  };

  const finished = (t: Tracked): void => {
    calls.delete(t.view.callId);
    t.stop.abort(WAIT_ENDED);
    if (!t.shown) return;
    // The final state is a line of its own; on a terminal it leaves the live region first.
    redraw();
    print(describeCall(t.view));
  };

  const printLogs = (e: DevSessionEvents["callLogs"]): void => {
    for (const log of e.logs) {
      const line = `[${log.endpoint ?? e.endpoint}] ${log.text.endsWith("\n") ? log.text.slice(0, -1) : log.text}`;
      if (log.stream === "stderr") logger.warn(line);
      else logger.info(line);
    }
  };

  region?.install();
  const off = events.onAny((kind, event) => {
    switch (kind) {
      case "callStarted":
        return started(event as DevSessionEvents["callStarted"]);
      case "callLogs":
        return printLogs(event as DevSessionEvents["callLogs"]);
      case "callLogsDropped": {
        const e = event as DevSessionEvents["callLogsDropped"];
        return print(`[${e.endpoint}] ${e.count} line(s) not shown live (over the worker's rate limit); they follow with the result`);
      }
      case "provisionStarted":
        provisioning = { count: (event as DevSessionEvents["provisionStarted"]).count, done: 0, startedAt: clock.now() };
        redraw();
        return tick();
      case "provisionResult":
        if (provisioning) provisioning.done++;
        return redraw();
      case "provisionFinished":
        provisioning = undefined;
        return redraw();
      case "closed":
        ticking?.abort();
        return region?.close();
    }
    const callId = (event as { callId?: number }).callId;
    const t = callId === undefined ? undefined : calls.get(callId);
    if (!t || !applyCallEvent(t.view, kind, event)) return;
    if (kind === "callFinished") return finished(t);
    if (t.shown) show(t);
  });
  return () => {
    off();
    ticking?.abort();
    for (const t of calls.values()) t.stop.abort();
    calls.clear();
    region?.close();
  };
}
