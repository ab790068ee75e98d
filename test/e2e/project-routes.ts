/**
 * The routes of a project made by `flash init`, checked the way its README
 * says to call them, through any transport (fetch on the host, or a script
 * run inside a container), and a host edit seen through the same transport.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";

export interface Call {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  /** Sent as the Host header (e.g. a Codespaces name), when given. */
  host?: string;
}

export interface Answer {
  status: number;
  json: unknown;
}

/** Sends calls, in order, and returns the answers (undefined where no answer came). */
export type Transport = (calls: Call[]) => Promise<(Answer | undefined)[]>;

/** Every example route, with what its answer must contain. */
export const EXAMPLE_CALLS: { call: Call; expect: Record<string, unknown> }[] = [
  {
    call: { method: "POST", path: "/gpu_worker/run_sync", body: { input: { prompt: "a red fox" } } },
    expect: { status: "COMPLETED", output: { prompt: "a red fox" } },
  },
  { call: { method: "POST", path: "/cpu_worker/run_sync", body: { text: "hello there" } }, expect: { status: "COMPLETED", output: { words: 2 } } },
  { call: { method: "GET", path: "/lb_worker/items/42?verbose=1" }, expect: { id: "42", name: "item 42" } },
  { call: { method: "POST", path: "/lb_worker/items", body: { name: "widget" } }, expect: { created: true, name: "widget" } },
  { call: { method: "POST", path: "/pipeline/run", body: { text: "a red fox" } }, expect: { summary: { upper: "A RED FOX" }, image: { prompt: "A RED FOX" } } },
];

/** HTTP from this process to 127.0.0.1:`port` (node:http: fetch would not send another Host header). */
export function hostTransport(port: number): Transport {
  return async (calls) => {
    const answers: (Answer | undefined)[] = [];
    for (const c of calls) answers.push(await requestOnce(port, c));
    return answers;
  };
}

export function requestOnce(port: number, c: Call): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const body = c.body === undefined ? undefined : JSON.stringify(c.body);
    const headers: Record<string, string> = { ...(body === undefined ? {} : { "content-type": "application/json" }), ...(c.host ? { host: c.host } : {}) };
    const req = request({ host: "127.0.0.1", port, path: c.path, method: c.method, headers, timeout: 60_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: parse(text) }));
      res.on("error", () => resolve(undefined));
    });
    req.on("error", () => resolve(undefined));
    req.on("timeout", () => req.destroy());
    req.end(body);
  });
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The same as a Node script run inside a container, where the host cannot
 * reach the port: calls as JSON in argv[1], the port in argv[2], answers
 * printed as JSON.
 */
export const INSIDE_SCRIPT = `
const http = require("node:http");
const [calls, port] = [JSON.parse(process.argv[1]), Number(process.argv[2])];
const once = (c) => new Promise((resolve) => {
  const body = c.body === undefined ? undefined : JSON.stringify(c.body);
  const headers = { ...(body === undefined ? {} : { "content-type": "application/json" }), ...(c.host ? { host: c.host } : {}) };
  const req = http.request({ host: "127.0.0.1", port, path: c.path, method: c.method, headers, timeout: 60000 }, (res) => {
    let text = ""; res.setEncoding("utf8");
    res.on("data", (d) => (text += d));
    res.on("end", () => { let json = text; try { json = JSON.parse(text); } catch {} resolve({ status: res.statusCode, json }); });
  });
  req.on("error", () => resolve(null));
  req.on("timeout", () => req.destroy());
  req.end(body);
});
(async () => { const out = []; for (const c of calls) out.push(await once(c)); console.log(JSON.stringify(out)); })();
`;

/** Polls until `check` passes (returns true) or the time is up; the last failure is in the error. */
export async function eventually(what: string, check: () => Promise<string | true>, timeoutMs: number, everyMs = 300): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check().catch((error: unknown) => String(error));
    if (result === true) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${result}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function contains(actual: unknown, expected: unknown): boolean {
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") return false;
    return Object.entries(expected).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v));
  }
  return actual === expected;
}

/** Waits until every example route answers 200 with what it should. */
export async function expectEveryRoute(send: Transport, timeoutMs = 180_000): Promise<void> {
  await eventually(
    "every example route",
    async () => {
      const answers = await send(EXAMPLE_CALLS.map((e) => e.call));
      const wrong = EXAMPLE_CALLS.map((e, i) => ({ e, a: answers[i] })).filter(({ e, a }) => a?.status !== 200 || !contains(a.json, e.expect));
      return wrong.length === 0 ? true : wrong.map(({ e, a }) => `${e.call.method} ${e.call.path} → ${JSON.stringify(a)}`).join("\n");
    },
    timeoutMs,
    1000,
  );
}

/** Edits cpu_worker.ts on the host so its answer carries `edit: n`, and waits until that is served. */
export async function expectHostEditServed(project: string, n: number, send: Transport, timeoutMs = 30_000): Promise<void> {
  const file = join(project, "cpu_worker.ts");
  const source = readFileSync(file, "utf8");
  const edited = source.includes("edit: ")
    ? source.replace(/edit: \d+/, `edit: ${n}`)
    : source.replace("upper: text.toUpperCase()", `upper: text.toUpperCase(), edit: ${n}`);
  if (edited === source) throw new Error("cpu_worker.ts does not look like the template any more");
  writeFileSync(file, edited);
  const call = EXAMPLE_CALLS[1]!.call;
  await eventually(
    `the host edit (edit: ${n}) served`,
    async () => {
      const [a] = await send([call]);
      return contains(a?.json, { output: { edit: n } }) ? true : JSON.stringify(a);
    },
    timeoutMs,
    200,
  );
}
