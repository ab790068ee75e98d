/**
 * The bootstrap: the whole of a live endpoint's start command,
 * `node -e '<this function, minified>'` (docs/internals.md, "The worker
 * runtime"). It needs nothing but `node` on the image's PATH: it speaks the
 * worker protocol just far enough to receive the caller's runtime with the
 * first job (queue endpoints) or the first `POST /execute` (load-balanced
 * endpoints), checks its sha256, keeps it in the worker's cache, imports it
 * and hands over — the job or request in hand, its servers, the environment.
 *
 * Constraints, because this text runs wherever the image's `node` is:
 * - It is serialised with Function.prototype.toString, so it refers to
 *   nothing outside itself; `req` and `proc` are `require` and `process`.
 * - It must parse on old Node.js (esbuild lowers it to node12 syntax) so that
 *   a too-old Node answers every call with `unsupported-worker` instead of
 *   crashing; dynamic import() is built with `new Function` for the same reason.
 * - Its minified text must contain no `'` (the start command quotes it so).
 */
import type * as NodeCrypto from "node:crypto";
import type * as NodeFs from "node:fs";
import type * as NodeHttp from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type * as NodeHttps from "node:https";
import type * as NodeOs from "node:os";
import type * as NodePath from "node:path";
import type * as NodeUrl from "node:url";
import type * as NodeZlib from "node:zlib";

/** What the bootstrap hands to the runtime it loaded (`startFromBootstrap`). Version 1. */
export interface BootstrapHandoverV1 {
  v: 1;
  /** The bundle the bootstrap imported (this runtime). */
  runtimeFile: string;
  /** Queue endpoints: the job(s) taken and not answered yet. */
  queue?: { jobs: { id: string; input: unknown }[] };
  /** Load-balanced endpoints: the listening servers and the requests read while the runtime loaded. */
  lb?: {
    server: Server;
    healthServer?: Server;
    pending: { input: unknown; res: ServerResponse }[];
    setHandlers(handlers: { main(req: IncomingMessage, res: ServerResponse): void; health(req: IncomingMessage, res: ServerResponse): void; runParsed(input: unknown, res: ServerResponse): void }): void;
  };
}

/** The oldest Node.js major the runtime supports. */
export const MIN_NODE_MAJOR = 22;

type Json = Record<string, unknown>;

export function bootstrapMain(req: NodeJS.Require, proc: NodeJS.Process): void {
  const http = req("http") as typeof NodeHttp;
  const https = req("https") as typeof NodeHttps;
  const zlib = req("zlib") as typeof NodeZlib;
  const crypto = req("crypto") as typeof NodeCrypto;
  const fs = req("fs") as typeof NodeFs;
  const path = req("path") as typeof NodePath;
  const os = req("os") as typeof NodeOs;
  const nodeUrl = req("url") as typeof NodeUrl;
  const env = proc.env;
  const MIN_NODE = 22;
  const image = env.FLASH_WORKER_IMAGE ? "the image " + env.FLASH_WORKER_IMAGE : "the image of this worker";
  const tooOld =
    parseInt(proc.versions.node.split(".")[0] as string, 10) < MIN_NODE
      ? image + " has Node.js " + proc.version + "; flash-ts workers need Node.js " + MIN_NODE + " or newer"
      : "";
  const cache = env.FLASH_WORKER_CACHE || path.join(os.tmpdir(), "flash-ts-worker");
  const log = (text: string): void => {
    try {
      // No "\n" literal: the minifier would turn it into a line break inside the start command.
      proc.stderr.write("[flash bootstrap] " + text + String.fromCharCode(10));
    } catch {
      // nowhere to report it
    }
  };
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const failure = (kind: string, name: string, message: string): Json => ({ flash: 1, ok: false, error: { kind, name, message }, logs: [], durationMs: 0 });
  const withQuery = (u: string, query: string): string => u + (u.indexOf("?") >= 0 ? "&" : "?") + query;
  const sub = (u: string, name: string, value: string): string => u.split(name).join(value);

  // Until the runtime takes over: stop at once on a signal, when our output pipe breaks, or when the
  // emulator that started us (FLASH_PARENT_PID) is gone.
  const exit = (): never => proc.exit(0);
  proc.on("SIGTERM", exit);
  proc.on("SIGINT", exit);
  proc.stderr.on("error", exit);
  const parent = Number(env.FLASH_PARENT_PID);
  const parentWatch =
    parent > 1
      ? setInterval(() => {
          try {
            proc.kill(parent, 0);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ESRCH") exit();
          }
        }, 1000)
      : undefined;

  let loading: Promise<{ file: string; mod: Json }> | undefined;
  /** What to do with a request body: answer now (`answer`, or `error` for a job that is no function call), or load. */
  const resolve = (input: unknown): { answer?: Json; error?: string; load?: Promise<{ file: string; mod: Json }> } => {
    if (tooOld) return { answer: failure("unsupported-worker", "UnsupportedNode", tooOld) };
    const request = input as Json | null;
    if (!request || request.flash !== 1 || !request.module || !request.target) return { error: "this worker runs flash-ts functions; the job input is not a flash-ts function request" };
    if (loading) return { load: loading };
    const runtime = request.runtime as Json | undefined;
    const hash = runtime && typeof runtime.hash === "string" && /^[0-9a-f]{64}$/.test(runtime.hash) ? runtime.hash : "";
    if (!hash) return { answer: failure("runtime", "RuntimeRequired", "this worker takes its flash-ts runtime from the caller, and the request names none; call it from the flash-ts that created the endpoint") };
    const dir = path.join(cache, "runtimes", hash.slice(0, 16));
    const file = path.join(dir, "runtime.mjs");
    const sha = (data: Buffer): string => crypto.createHash("sha256").update(data).digest("hex");
    let have = false;
    try {
      have = sha(fs.readFileSync(file)) === hash;
    } catch {
      // not cached yet
    }
    if (!have) {
      if (typeof runtime?.gzip !== "string") {
        return { answer: failure("runtime-missing", "RuntimeMissing", "this worker does not have flash-ts runtime " + String(runtime?.version) + " (" + hash.slice(0, 12) + ") yet; send it with the request") };
      }
      let text: Buffer;
      try {
        text = zlib.gunzipSync(Buffer.from(runtime.gzip, "base64"));
      } catch (error) {
        return { answer: failure("runtime", "RuntimeCorrupt", "the runtime sent with the request cannot be unpacked: " + (error as Error).message) };
      }
      if (sha(text) !== hash) return { answer: failure("runtime", "RuntimeHashMismatch", "the runtime sent with the request does not match its hash " + hash) };
      fs.mkdirSync(dir, { recursive: true });
      const tmp = file + "." + proc.pid + ".tmp";
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, file);
    }
    log("loading flash-ts runtime " + String(runtime?.version) + " (" + hash.slice(0, 12) + ")");
    const load = new Function("u", "return import(u)") as (u: string) => Promise<Json>;
    loading = load(nodeUrl.pathToFileURL(file).href).then((mod) => ({ file, mod }));
    return { load: loading };
  };

  /** Gives the process to the runtime: our handlers go, the runtime installs its own. */
  const handOver = (loaded: { file: string; mod: Json }, part: Json): void => {
    proc.removeListener("SIGTERM", exit);
    proc.removeListener("SIGINT", exit);
    proc.stderr.removeListener("error", exit);
    if (parentWatch) clearInterval(parentWatch);
    const start = loaded.mod.startFromBootstrap as (handover: Json) => Promise<void>;
    Promise.resolve()
      .then(() => start(Object.assign({ v: 1, runtimeFile: loaded.file }, part)))
      .catch((error: Error) => {
        log("the runtime failed to start: " + (error && error.stack ? error.stack : String(error)));
        proc.exit(1);
      });
  };

  const port = Number(env.PORT || 80);
  if (!env.RUNPOD_WEBHOOK_GET_JOB) {
    // Load-balanced: serve the health check and POST /execute until the runtime takes the servers over.
    const healthPort = Number(env.PORT_HEALTH || port);
    const healthPath = "/" + (env.HEALTH_CHECK_PATH || "/ping").replace(/^\/+/, "");
    const host = env.FLASH_WORKER_HOST || "0.0.0.0";
    let handlers: { main(q: IncomingMessage, s: ServerResponse): void; health(q: IncomingMessage, s: ServerResponse): void; runParsed(input: unknown, s: ServerResponse): void } | undefined;
    const pending: { input: unknown; res: ServerResponse }[] = [];
    const send = (res: ServerResponse, status: number, body: Json): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    const health = (res: ServerResponse): void => send(res, 200, { status: "healthy" });
    const lb: Json = {
      pending,
      setHandlers: (h: typeof handlers) => {
        handlers = h;
      },
    };
    let handedOver = false;
    const onRequest = (request: IncomingMessage, res: ServerResponse): void => {
      if (handlers) return handlers.main(request, res);
      const route = (request.url || "/").split("?")[0];
      if (route === healthPath && (request.method === "GET" || request.method === "HEAD")) return health(res);
      if (route !== "/execute" || request.method !== "POST") return send(res, 404, { error: "this worker serves POST /execute and GET " + healthPath });
      const chunks: Buffer[] = [];
      let size = 0;
      request.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= 64 * 1024 * 1024) chunks.push(chunk);
      });
      request.on("end", () => {
        if (handlers) return handlers.runParsed(parse(), res);
        const input = parse();
        const next = resolve(input);
        if (!next.load) return send(res, 200, next.answer || failure("runtime", "InvalidRequest", next.error || "invalid request"));
        // Requests wait here only while the runtime loads (well under a second); bounded all the same.
        if (pending.length >= 1000) return send(res, 503, { error: "the worker is starting; too many requests wait for its runtime" });
        pending.push({ input, res });
        next.load.then(
          (loaded) => {
            if (handedOver) return;
            handedOver = true;
            handOver(loaded, { lb });
          },
          (error: Error) => {
            pending.splice(0).forEach((p) => send(p.res, 200, failure("runtime", "RuntimeLoadFailed", "the runtime failed to load: " + error.message)));
          },
        );
      });
      const parse = (): unknown => {
        try {
          return JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          return undefined;
        }
      };
    };
    const server = http.createServer(onRequest);
    lb.server = server;
    server.listen(port, host);
    if (healthPort !== port) {
      lb.healthServer = http.createServer((q, s) => (handlers ? handlers.health(q, s) : health(s)));
      (lb.healthServer as Server).listen(healthPort, host);
    }
    log(tooOld ? tooOld : "listening on " + host + ":" + port + ", waiting for the runtime with the first request");
    return;
  }

  // Queue-based: take jobs until one brings (or names a cached) runtime.
  const pod = env.RUNPOD_POD_ID || "bootstrap-" + proc.pid;
  const key = env.RUNPOD_AI_API_KEY || "";
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  const call = (method: string, target: string, body: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> =>
    new Promise((done, fail) => {
      const u = new URL(target);
      const secure = u.protocol === "https:";
      const request = (secure ? https : http).request(
        u,
        { method, agent: secure ? agents.https : agents.http, headers: { authorization: key, "content-type": "application/json", "user-agent": "flash-ts-bootstrap (node " + proc.version + ")" } },
        (res) => {
          const parts: Buffer[] = [];
          res.on("data", (c: Buffer) => parts.push(c));
          res.on("end", () => done({ status: res.statusCode || 0, text: Buffer.concat(parts).toString("utf8") }));
          res.on("error", fail);
        },
      );
      request.setTimeout(timeoutMs, () => request.destroy(new Error("timed out")));
      request.on("error", fail);
      request.end(body);
    });
  const take = sub(sub(env.RUNPOD_WEBHOOK_GET_JOB, "$RUNPOD_POD_ID", pod), "$ID", pod);
  const done = sub(env.RUNPOD_WEBHOOK_POST_OUTPUT || "", "$RUNPOD_POD_ID", pod);
  const post = async (jobId: string, body: Json): Promise<void> => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const res = await call("POST", withQuery(sub(done, "$ID", encodeURIComponent(jobId)), "isStream=false"), JSON.stringify(body), 60000);
        if (res.status < 500 && res.status !== 429) return;
      } catch {
        // retried below
      }
      await sleep(300 * attempt);
    }
    log("could not post the answer to job " + jobId);
  };
  const ping = env.RUNPOD_WEBHOOK_PING ? withQuery(sub(env.RUNPOD_WEBHOOK_PING, "$RUNPOD_POD_ID", pod), "runpod_version=flash-ts-bootstrap") : "";
  const beat = (): void => void call("GET", ping, undefined, 5000).catch(() => undefined);
  const pinger = ping ? setInterval(beat, Number(env.RUNPOD_PING_INTERVAL) || 10000) : undefined;
  if (ping) beat();
  log(tooOld ? tooOld : "waiting for the runtime with the first job");

  const loop = async (): Promise<void> => {
    for (;;) {
      let res: { status: number; text: string };
      try {
        res = await call("GET", withQuery(take, "job_in_progress=0"), undefined, 90000);
      } catch {
        await sleep(1000);
        continue;
      }
      if (res.status === 204) continue;
      if (res.status !== 200) {
        await sleep(res.status === 429 ? 5000 : 1000);
        continue;
      }
      let job: Json;
      try {
        job = JSON.parse(res.text) as Json;
      } catch {
        continue;
      }
      if (!job || typeof job.id !== "string") continue;
      const next = resolve(job.input);
      if (next.load) {
        try {
          const loaded = await next.load;
          if (pinger) clearInterval(pinger);
          handOver(loaded, { queue: { jobs: [job] } });
          return;
        } catch (error) {
          await post(job.id, { output: failure("runtime", "RuntimeLoadFailed", "the runtime failed to load: " + (error as Error).message) });
          continue;
        }
      }
      await post(job.id, next.error !== undefined ? { error: next.error } : { output: next.answer });
    }
  };
  void loop();
}
