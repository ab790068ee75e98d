/**
 * Turns the function-call client's per-call observer (src/calls) into the
 * session's call events: one id per call linking started → submitted →
 * status → logs → finished, with the route it answers and its duration on
 * the session's clock (provisioning included), plus what shows it while in
 * flight (live logs, the endpoint's health). The console renderer
 * (call-renderer.ts) subscribes to these; nothing here prints.
 */
import type { CallObserver } from "../calls/index.js";
import type { Clock } from "../common/clock.js";
import type { ObservedCall } from "./remote-invoker.js";
import type { DevSessionEmitter } from "./session-events.js";

/** The `observe` option of the invoker, emitting on `events`. */
export function observeCalls(events: DevSessionEmitter, clock: Clock): (call: ObservedCall) => CallObserver {
  let lastId = 0;
  return (call) => {
    const started = clock.now();
    const ref = { callId: ++lastId, function: call.function, endpoint: call.endpoint, local: call.local };
    const origin = { ...(call.route ? { route: call.route } : {}), ...(call.requestId ? { requestId: call.requestId } : {}) };
    events.emit("callStarted", { ...ref, ...origin });
    return {
      submitted: (e) => events.emit("callSubmitted", { ...ref, attempt: e.attempt, ...(e.jobId ? { jobId: e.jobId } : {}) }),
      status: (e) => events.emit("callStatus", { ...ref, jobId: e.jobId, status: e.status }),
      logs: (logs) => events.emit("callLogs", { ...ref, logs }),
      logsDropped: (e) => events.emit("callLogsDropped", { ...ref, count: e.count }),
      health: (e) => events.emit("callHealth", { ...ref, workers: e.workers, jobs: e.jobs }),
      finished: (e) => {
        const common = { ...ref, ...origin, durationMs: clock.now() - started, ...(e.jobId ? { jobId: e.jobId } : {}) };
        if (e.ok) events.emit("callFinished", { ...common, outcome: "completed" });
        else events.emit("callFinished", { ...common, outcome: call.abandoned() ? "abandoned" : "failed", error: e.error });
      },
    };
  };
}
