/**
 * Webhook delivery: when a job ends, its status object is POSTed to the
 * job's `webhook` URL. Anything but HTTP 200 (or no answer) is retried up to
 * two more times, `retryDelayMs` apart (10 s on Runpod).
 */
import type { Logger } from "../shared/logger.js";

/** Retry and timeout settings of webhook delivery. */
export interface WebhookSenderOptions {
  logger: Logger;
  retryDelayMs?: number;
  /** Per attempt. */
  timeoutMs?: number;
  attempts?: number;
}

/** Fire-and-forget webhook POSTs with retries; `close()` cancels pending ones. */
export class WebhookSender {
  private readonly inFlight = new Set<AbortController>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: WebhookSenderOptions) {}

  send(url: string, body: unknown): void {
    if (this.closed) return;
    void this.attempt(url, JSON.stringify(body), 1);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const controller of this.inFlight) controller.abort();
  }

  private async attempt(url: string, body: string, attempt: number): Promise<void> {
    const attempts = this.options.attempts ?? 3;
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 10_000);
    let problem: string;
    try {
      const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" }, signal: controller.signal });
      await res.body?.cancel();
      if (res.status === 200) return;
      problem = `answered ${res.status}`;
    } catch (error) {
      problem = (error as Error).message;
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    if (this.closed) return;
    if (attempt >= attempts) {
      this.options.logger.warn(`Webhook ${url} ${problem}; gave up after ${attempts} attempts`);
      return;
    }
    this.options.logger.debug(`Webhook ${url} ${problem}; retrying`);
    const retry = setTimeout(() => {
      this.timers.delete(retry);
      void this.attempt(url, body, attempt + 1);
    }, this.options.retryDelayMs ?? 10_000);
    retry.unref();
    this.timers.add(retry);
  }
}
