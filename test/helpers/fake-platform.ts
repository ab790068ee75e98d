/**
 * A small fake of the platform side of Runpod's worker protocol (docs/worker-protocol.md),
 * on node:http, port 0: job-take and job-take-batch (long-polled), job-done
 * (results and progress), job-stream, ping and job-stop. It records every
 * request and lets tests wait on what happened (events, not sleeps).
 */
import { EventEmitter } from "node:events";
import { createServer } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface PostedResult {
  jobId: string;
  workerId: string;
  body: Record<string, unknown>;
  isStream: string | null;
}

export interface FakePlatformOptions {
  apiKey?: string;
  /** How long job-take / job-stop polls are held before a 204. Default 500 ms. */
  holdMs?: number;
  /** Content type of job-take answers (the worker must parse JSON whatever it says). */
  takeContentType?: string;
}

interface Waiter {
  res: ServerResponse;
  batch: number | undefined;
  timer: NodeJS.Timeout;
}

export class FakePlatform {
  readonly requests: RecordedRequest[] = [];
  readonly results: PostedResult[] = [];
  readonly progress: PostedResult[] = [];
  readonly chunks: PostedResult[] = [];
  readonly pings: URLSearchParams[] = [];
  /** Ids of jobs taken by workers, in order. */
  readonly taken: string[] = [];
  /** Ids of jobs whose stop was sent to a worker (answered on its job-stop poll), in order. */
  readonly stopsSent: string[] = [];
  /** Answers for the next posts to job-done (status codes), consumed in order. */
  readonly doneStatuses: number[] = [];
  readonly #events = new EventEmitter();
  readonly #queue: Record<string, unknown>[] = [];
  readonly #takers: Waiter[] = [];
  readonly #stoppers: Waiter[] = [];
  readonly #toStop: string[] = [];
  #syncJobs = 0;
  readonly #options: Required<FakePlatformOptions>;
  readonly #server = createServer((req, res) => void this.#handle(req, res));
  url = "";

  constructor(options: FakePlatformOptions = {}) {
    this.#options = { apiKey: options.apiKey ?? "worker-secret-key", holdMs: options.holdMs ?? 500, takeContentType: options.takeContentType ?? "application/json" };
    this.#events.setMaxListeners(100);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** The environment Runpod gives a queue worker, pointing here (plus the job API for nested calls). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      RUNPOD_WEBHOOK_GET_JOB: `${this.url}/v2/ep/job-take/$ID?gpu=EMU`,
      RUNPOD_WEBHOOK_POST_OUTPUT: `${this.url}/v2/ep/job-done/$RUNPOD_POD_ID/$ID?gpu=EMU`,
      RUNPOD_WEBHOOK_POST_STREAM: `${this.url}/v2/ep/job-stream/$RUNPOD_POD_ID/$ID?gpu=EMU`,
      RUNPOD_WEBHOOK_PING: `${this.url}/v2/ep/ping/$RUNPOD_POD_ID?gpu=EMU`,
      RUNPOD_PING_INTERVAL: "200",
      RUNPOD_POD_ID: "worker-1",
      RUNPOD_AI_API_KEY: this.#options.apiKey,
      RUNPOD_API_KEY: this.#options.apiKey,
      RUNPOD_ENDPOINT_BASE_URL: `${this.url}/v2`,
      ...extra,
    };
  }

  /** Queues a job; a waiting take gets it at once. */
  enqueue(job: { id: string; input: unknown; [extra: string]: unknown }): void {
    this.#queue.push(job);
    this.#serveTakers();
  }

  /** Asks the worker to stop a job (delivered on the job-stop channel). */
  stop(jobId: string): void {
    this.#toStop.push(jobId);
    const waiter = this.#stoppers.shift();
    if (waiter) this.#answerStop(waiter);
  }

  /** Answers every held take and stop poll now, with no job: a long poll whose hold ran out. */
  releaseHolds(): void {
    for (const list of [this.#takers, this.#stoppers]) {
      for (const w of list.splice(0)) {
        clearTimeout(w.timer);
        if (!w.res.headersSent) w.res.writeHead(204).end();
      }
    }
  }

  /** Resolves when `predicate` holds (checked after every request). */
  waitFor<T>(predicate: () => T | undefined | false, what = "condition", timeoutMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const value = predicate();
        if (value) {
          cleanup();
          resolve(value);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake platform: timed out waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#events.off("change", check);
      };
      if (!check()) this.#events.on("change", check);
    });
  }

  /** The final result posted for a job. */
  waitForResult(jobId: string, timeoutMs?: number): Promise<PostedResult> {
    return this.waitFor(() => this.results.find((r) => r.jobId === jobId), `the result of job ${jobId}`, timeoutMs);
  }

  async close(): Promise<void> {
    for (const w of [...this.#takers, ...this.#stoppers]) {
      clearTimeout(w.timer);
      if (!w.res.headersSent) w.res.writeHead(204).end();
    }
    this.#takers.length = 0;
    this.#stoppers.length = 0;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #changed(): void {
    this.#events.emit("change");
  }

  #serveTakers(): void {
    while (this.#queue.length > 0 && this.#takers.length > 0) {
      const waiter = this.#takers.shift() as Waiter;
      clearTimeout(waiter.timer);
      this.#answerTake(waiter.res, waiter.batch);
    }
  }

  #answerTake(res: ServerResponse, batch: number | undefined): void {
    const jobs = this.#queue.splice(0, batch ?? 1);
    for (const job of jobs) this.taken.push(job.id as string);
    res.writeHead(200, { "content-type": this.#options.takeContentType });
    res.end(JSON.stringify(batch === undefined ? jobs[0] : jobs));
    this.#changed();
  }

  #answerStop(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    const ids = this.#toStop.splice(0);
    this.stopsSent.push(...ids);
    waiter.res.writeHead(200, { "content-type": "application/json" });
    waiter.res.end(JSON.stringify({ jobsToStop: [...ids, 42] })); // a non-string id is dropped by the worker
    this.#changed();
  }

  #hold(list: Waiter[], res: ServerResponse, batch: number | undefined): void {
    const waiter: Waiter = {
      res,
      batch,
      timer: setTimeout(() => {
        list.splice(list.indexOf(waiter), 1);
        res.writeHead(204).end();
      }, this.#options.holdMs),
    };
    list.push(waiter);
    res.on("close", () => {
      clearTimeout(waiter.timer);
      const i = list.indexOf(waiter);
      if (i >= 0) list.splice(i, 1);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", this.url);
    const record: RecordedRequest = { method: req.method ?? "", path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
    this.requests.push(record);
    // Worker routes take the raw key; the job API (run and status-sync, used by nested calls) takes Bearer.
    const auth = req.headers.authorization;
    if (auth !== this.#options.apiKey && auth !== `Bearer ${this.#options.apiKey}`) {
      res.writeHead(401).end();
      this.#changed();
      return;
    }
    const [, , , route, workerId = "", jobId = ""] = url.pathname.split("/"); // /v2/ep/<route>/<worker>/<job>
    switch (route) {
      case "job-take":
      case "job-take-batch": {
        const batch = route === "job-take-batch" ? Number(url.searchParams.get("batch_size")) : undefined;
        if (this.#queue.length > 0) this.#answerTake(res, batch);
        else this.#hold(this.#takers, res, batch);
        break;
      }
      case "job-stop":
        if (this.#toStop.length > 0) {
          const waiter: Waiter = { res, batch: undefined, timer: setTimeout(() => {}, 0) };
          this.#answerStop(waiter);
        } else this.#hold(this.#stoppers, res, undefined);
        break;
      case "job-done":
      case "job-stream": {
        const status = route === "job-done" ? (this.doneStatuses.shift() ?? 200) : 200;
        const body = JSON.parse(record.body) as Record<string, unknown>;
        const posted: PostedResult = { jobId: decodeURIComponent(jobId), workerId, body, isStream: url.searchParams.get("isStream") };
        if (status < 300) {
          if (route === "job-stream") this.chunks.push(posted);
          else if (body.status === "IN_PROGRESS") this.progress.push(posted);
          else this.results.push(posted);
        }
        res.writeHead(status).end();
        break;
      }
      case "run": {
        // A minimal job API (what nested calls use): /run queues the job for the workers,
        // status-sync answers when its result is posted.
        const id = `sync-${++this.#syncJobs}`;
        const input = (JSON.parse(record.body) as { input: unknown }).input;
        this.enqueue({ id, input });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id, status: "IN_QUEUE" }));
        break;
      }
      case "status-sync": {
        const id = decodeURIComponent(workerId);
        const result = await this.waitForResult(id);
        const failed = typeof result.body.error === "string";
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id, status: failed ? "FAILED" : "COMPLETED", delayTime: 0, executionTime: 0, workerId: result.workerId, ...result.body }));
        break;
      }
      case "ping":
        this.pings.push(url.searchParams);
        res.writeHead(200).end();
        break;
      default:
        res.writeHead(404).end();
    }
    this.#changed();
  }
}
