/**
 * Webhook delivery: when a job ends, its status object is POSTed to the
 * job's `webhook` URL. Anything but HTTP 200 (or no answer) is retried up to
 * two more times, `retryDelayMs` apart (10 s on Runpod).
 *
 * Only http(s) URLs are taken, and never a link-local host (169.254.0.0/16,
 * fe80::/10: where cloud metadata services answer), neither as written in the
 * URL (400 at submission) nor as its name resolves when the post is made
 * (docs/limits.md, Emulator bounds).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Logger } from "../common/logger.js";
import { HttpError } from "./http-error.js";

/** Longest webhook URL taken. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** True for an IPv4 or IPv6 address in a link-local range (IPv4-mapped IPv6 included). */
export function isLinkLocalAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = isIP(bare) === 4 ? bare : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)?.[1];
  if (v4 !== undefined) return v4.startsWith("169.254.");
  if (isIP(bare) !== 6) return false;
  // IPv4-mapped, as URL writes it: ::ffff:a9fe:a9fe is 169.254.169.254.
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(bare)?.[1];
  if (mapped !== undefined) return parseInt(mapped, 16) === 0xa9fe;
  // fe80::/10: the first 10 bits are 1111 1110 10.
  const first = parseInt(bare.split(":")[0] || "0", 16);
  return (first & 0xffc0) === 0xfe80;
}

/** Throws HttpError 400 unless `value` is an http(s) URL of reasonable length whose host is not link-local. */
export function checkWebhookUrl(value: string): void {
  if (value.length > MAX_WEBHOOK_URL_LENGTH) throw new HttpError(400, `webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HttpError(400, `webhook must be an http(s) URL (got ${JSON.stringify(value.slice(0, 100))})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new HttpError(400, `webhook must be an http or https URL, not ${url.protocol}`);
  if (isLinkLocalAddress(url.hostname)) {
    throw new HttpError(400, `webhook host ${url.hostname} is a link-local address (where cloud metadata services answer); the emulator does not post there`);
  }
}

/** True when `host` (a name or an address) resolves to a link-local address; false when it cannot be resolved. */
async function resolvesLinkLocal(host: string): Promise<boolean> {
  const bare = host.replace(/^\[|\]$/g, "");
  if (isIP(bare) !== 0) return isLinkLocalAddress(bare);
  try {
    return (await lookup(bare, { all: true })).some((a) => isLinkLocalAddress(a.address));
  } catch {
    return false; // the post fails on its own, and is reported as such
  }
}

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
      if (await resolvesLinkLocal(new URL(url).hostname)) {
        this.options.logger.warn(`Webhook ${url} not sent: its host resolves to a link-local address`);
        return;
      }
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
