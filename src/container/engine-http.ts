/**
 * A small Docker Engine API client on node:http, for the calls on the path
 * of every `flash dev` start (version, inspect, list, create, attach, start,
 * wait, kill, remove). Loading dockerode costs more than all of those calls
 * together, so it is kept for what needs it: image builds and pulls, and
 * engines reached over SSH (docker-container-runtime.ts).
 */
import type { ClientRequest, IncomingMessage, RequestOptions } from "node:http";
import type * as Http from "node:http";
import type * as Https from "node:https";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import type { DockerEndpoint } from "./docker-endpoint.js";
import type { AttachHandle, AttachOptions } from "./container-runtime.js";

/** A response the engine gave: its status and body (parsed when JSON). */
export interface EngineResponse {
  status: number;
  body: unknown;
}

/** Thrown for a status the caller did not accept; `statusCode` and `json` as dockerode's errors have them. */
export class EngineStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: { message?: string } | null,
  ) {
    super(json?.message ?? `the engine answered ${statusCode}`);
  }
}

type Query = Record<string, string | number | boolean | undefined>;

export interface EngineRequest {
  method: "GET" | "POST" | "DELETE" | "HEAD";
  path: string;
  query?: Query;
  body?: unknown;
  /** Statuses that are an answer rather than an error (default: 2xx). */
  ok?: readonly number[];
}

/**
 * node:http through require: an ES import of it builds its whole namespace,
 * which loads Node's bundled undici (about 30 ms of a start, never used here).
 * node:https (and TLS) only for an engine that needs it.
 */
const require = createRequire(import.meta.url);
const { Agent: HttpAgent, request: httpRequest } = require("node:http") as typeof Http;
const https = (): typeof Https => require("node:https") as typeof Https;

/** Most bodies are small; a list of every container or volume is the largest we read. */
const MAX_BODY = 16 * 1024 * 1024;

export class EngineHttp {
  readonly #endpoint: Exclude<DockerEndpoint, { kind: "ssh" }>;
  readonly #agent: Http.Agent;

  constructor(endpoint: Exclude<DockerEndpoint, { kind: "ssh" }>) {
    this.#endpoint = endpoint;
    // One kept-alive connection serves the calls of a start one after another.
    this.#agent = this.#tls() ? new (https().Agent)({ keepAlive: true, maxSockets: 8, ...this.#tls() }) : new HttpAgent({ keepAlive: true, maxSockets: 8 });
  }

  #tls(): { ca?: string; cert?: string; key?: string } | undefined {
    return this.#endpoint.kind === "tcp" ? this.#endpoint.tls : undefined;
  }

  #options(method: string, path: string, query: Query | undefined, headers: Record<string, string>): RequestOptions {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const fullPath = qs.size > 0 ? `${path}?${qs.toString()}` : path;
    const base = { method, path: fullPath, headers, agent: this.#agent };
    return this.#endpoint.kind === "socket" ? { ...base, socketPath: this.#endpoint.path } : { ...base, host: this.#endpoint.host, port: this.#endpoint.port };
  }

  #send(options: RequestOptions): ClientRequest {
    return this.#tls() ? https().request(options) : httpRequest(options);
  }

  /** One JSON request; resolves with the answer, rejects with a network error or an `EngineStatusError`. */
  request(req: EngineRequest): Promise<EngineResponse> {
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = payload === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) };
    return new Promise((resolve, reject) => {
      const r = this.#send(this.#options(req.method, req.path, req.query, headers));
      r.once("error", reject);
      r.once("response", (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) {
            res.destroy(new Error(`the engine's answer to ${req.method} ${req.path} is over ${MAX_BODY} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.once("error", reject);
        res.once("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          if (text && (res.headers["content-type"] ?? "").includes("json")) {
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
          }
          const status = res.statusCode ?? 0;
          const accepted = req.ok ? req.ok.includes(status) : status >= 200 && status < 300;
          if (accepted) resolve({ status, body });
          else reject(new EngineStatusError(status, typeof body === "object" && body !== null ? (body as { message?: string }) : { message: text.trim() || undefined }));
        });
      });
      r.end(payload);
    });
  }

  /**
   * Attaches to a container's stdio: the engine upgrades the connection to a
   * raw stream (Docker's "hijacked" connection). Resolves with that socket.
   */
  hijack(path: string, query: Query): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const r = this.#send(this.#options("POST", path, query, { connection: "Upgrade", upgrade: "tcp" }));
      r.once("error", reject);
      r.once("upgrade", (_res: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      r.once("response", (res: IncomingMessage) => {
        // No upgrade: an error status (or an engine too old to hijack).
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.once("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: { message?: string };
          try {
            json = JSON.parse(text) as { message?: string };
          } catch {
            json = { message: text.trim() || `the engine answered ${res.statusCode}` };
          }
          reject(new EngineStatusError(res.statusCode ?? 0, json));
        });
      });
      r.end();
    });
  }

  /** Lets the process exit: kept-alive sockets are closed. */
  close(): void {
    this.#agent.destroy();
  }
}

/**
 * Splits the multiplexed stdout/stderr of a container without a TTY: frames
 * of an 8-byte header (stream 1 or 2, then the payload length, big-endian)
 * and the payload.
 */
export function demultiplex(source: NodeJS.ReadableStream, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): void {
  let pending: Buffer = Buffer.alloc(0);
  source.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const length = pending.readUInt32BE(4);
      if (pending.length < 8 + length) break;
      const payload = pending.subarray(8, 8 + length);
      (pending[0] === 2 ? stderr : stdout).write(payload);
      pending = pending.subarray(8 + length);
    }
  });
}

/**
 * Forwards an attached container's streams (a TTY's one raw stream, else
 * Docker's multiplexed stdout/stderr) and stdin, for both runtimes: the Engine
 * API's hijacked socket and dockerode's attach stream.
 */
export function forwardAttached(stream: NodeJS.ReadWriteStream & { destroy?(): void }, options: AttachOptions): AttachHandle {
  if (options.tty) stream.pipe(options.stdout, { end: false });
  else demultiplex(stream, options.stdout, options.stderr);
  if (options.stdin) options.stdin.pipe(stream);
  let detached = false;
  const ended = new Promise<void>((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
    stream.once("error", () => resolve());
  });
  return {
    ended,
    detach: () => {
      if (detached) return;
      detached = true;
      options.stdin?.unpipe(stream);
      stream.unpipe(options.stdout);
      stream.destroy?.();
    },
  };
}
