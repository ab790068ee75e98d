/**
 * Health checks of a load-balanced worker, as Runpod's load balancer does
 * them: `GET http://<worker>:<PORT_HEALTH><HEALTH_CHECK_PATH>`; 200 means
 * ready (routable), 204 initialising, anything else unhealthy. A refused
 * connection before the first 200 is a worker still booting. Checks are quick
 * while the worker boots (so the first request is routed as soon as it can
 * be) and slow once it is ready.
 */
import { get } from "node:http";

/** What the last health check said about a load-balanced worker. */
export type LbHealthState = "initializing" | "ready" | "unhealthy";

/** Where to check and whom to tell about changes. */
export interface HealthCheckOptions {
  /** The worker's address (a container's IP); default 127.0.0.1. */
  host?: string;
  port: number;
  path: string;
  onChange: (state: LbHealthState) => void;
  bootIntervalMs?: number;
  readyIntervalMs?: number;
  timeoutMs?: number;
}

/** Starts checking a worker's health path until `stop()`; `onChange` hears every transition. */
export function startHealthChecks(options: HealthCheckOptions): { stop(): void } {
  let state: LbHealthState = "initializing";
  let everReady = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const probe = (): Promise<number | "error"> =>
    new Promise((resolve) => {
      const req = get({ host: options.host ?? "127.0.0.1", port: options.port, path: options.path, agent: false, timeout: options.timeoutMs ?? 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.once("timeout", () => req.destroy(new Error("timeout")));
      req.once("error", () => resolve("error"));
    });

  const tick = async (): Promise<void> => {
    const result = await probe();
    if (stopped) return;
    let next: LbHealthState;
    if (result === 200) next = "ready";
    else if (result === 204 || (result === "error" && !everReady)) next = "initializing";
    else next = "unhealthy";
    if (next === "ready") everReady = true;
    if (next !== state) {
      state = next;
      options.onChange(next);
    }
    const delay = state === "ready" ? (options.readyIntervalMs ?? 2000) : (options.bootIntervalMs ?? 100);
    timer = setTimeout(() => void tick(), delay);
    timer.unref();
  };
  void tick();

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
