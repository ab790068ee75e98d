/**
 * Who may reach the emulator: browsers (Sec-Fetch-Site, Origin) never, and on
 * a loopback bind only requests naming a local Host (DNS rebinding); workers
 * call back with the RUNPOD_API_KEY they are given (their worker key). And
 * the key itself, in real `flash emulator` processes: taken from the
 * environment or a file (never visible in `ps`), required off loopback, and
 * the state file that holds endpoints' env kept private.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Endpoint } from "../../src/runpod/wire-types.js";
import { FAKE_WORKER_COMMAND, useEmulator, type TestEmulator } from "../helpers/emulator.js";
import { CLI, childEnv } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const KEY = "security-key-1234";
let t: TestEmulator;
let lb: Endpoint;

beforeAll(async () => {
  t = await useEmulator({ apiKey: KEY });
  lb = await t.createEndpoint({ name: "lb-guarded", type: "LOAD_BALANCER", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 1, idleTimeout: 30 } });
});
afterAll(async () => {
  await t.close();
});

interface RawAnswer {
  status: number;
  type: string;
  body: Record<string, unknown>;
}

/** A request with exactly these headers (fetch would not let us set Host, and may drop Origin). */
function raw(base: string, path: string, headers: Record<string, string>, method = "GET"): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers: { authorization: `Bearer ${KEY}`, ...headers } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on("error", reject);
    req.end(method === "POST" ? JSON.stringify({ input: 1 }) : undefined);
  });
}

describe("requests from browsers", () => {
  it("are refused with 403 on every API, before authentication, admin or faults", async () => {
    const origin = { origin: "https://evil.example" };
    const job = await raw(t.url, `/v2/${lb.id}/health`, origin);
    expect(job.status).toBe(403);
    expect(job.body).toEqual({ error: expect.stringMatching(/browser request from Origin https:\/\/evil\.example refused/), status: 403 });

    const rest = await raw(t.url, "/v2/serverless", origin, "POST");
    expect(rest.status).toBe(403);
    expect(rest.type).toMatch(/^application\/problem\+json/);
    expect(rest.body).toMatchObject({ title: "Forbidden", status: 403 });

    expect((await raw(t.url, "/__emulator/state", origin)).body).toMatchObject({ status: 403 });
    expect((await raw(t.url, `/lb/${lb.id}/x`, origin)).status).toBe(403);
    expect((await raw(t.url, `/v2/${lb.id}/ping/w1`, { ...origin, authorization: t.emulator.workerApiKey })).status).toBe(403);
    // Without a key too: the refusal is not an authentication question.
    expect((await raw(t.url, "/v2/serverless", { ...origin, authorization: "" })).status).toBe(403);
    expect((await raw(t.url, "/v2/serverless", { origin: "null" })).status).toBe(403);
  });

  it("are told apart by Sec-Fetch-Site: only none (a typed URL) passes; the emulator has no pages, so same-origin is refused too", async () => {
    for (const site of ["cross-site", "same-site", "same-origin"]) {
      const res = await raw(t.url, "/v2/serverless", { "sec-fetch-site": site });
      expect(res.status, site).toBe(403);
      expect(res.body).toMatchObject({ status: 403, detail: expect.stringMatching(/browser request .*refused/) });
    }
    // A link or an <img> on a page: Fetch Metadata and a Referer, no Origin.
    const img = await raw(t.url, `/lb/${lb.id}/x`, { "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors", referer: "https://evil.example/" });
    expect(img.status).toBe(403);
    expect((await raw(t.url, "/v2/serverless", { "sec-fetch-site": "none" })).status).toBe(200);
  });

  it("leave a fault rule untouched: refusals come before faults", async () => {
    const fault = t.emulator.faults.add({ route: "^GET /v2/serverless$", status: 500 });
    try {
      expect((await raw(t.url, "/v2/serverless", { origin: "https://evil.example" })).status).toBe(403);
      expect((await raw(t.url, "/v2/serverless", {})).status).toBe(500);
      expect(t.emulator.faults.list().find((f) => f.id === fault.id)?.hits).toBe(1);
    } finally {
      t.emulator.faults.remove(fault.id);
    }
  });
});

describe("the Host header on a loopback bind (DNS rebinding)", () => {
  it("must be a local name", async () => {
    const port = new URL(t.url).port;
    for (const host of [`evil.example:${port}`, "attacker.test", `127.0.0.1.nip.io:${port}`, `0.0.0.0:${port}`]) {
      const res = await raw(t.url, "/v2/serverless", { host });
      expect(res.status, host).toBe(403);
      expect(res.body).toMatchObject({ status: 403, detail: expect.stringMatching(/only answers to localhost/) });
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, "127.0.0.2", `[::1]:${port}`, `tools.localhost:${port}`, "LOCALHOST"]) {
      expect((await raw(t.url, "/v2/serverless", { host })).status, host).toBe(200);
    }
  });

  it("keeps load-balanced routing by Host: {endpointId}.localhost working", async () => {
    const port = new URL(t.url).port;
    const res = await raw(t.url, "/via-host", { host: `${lb.id}.localhost:${port}` });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ path: "/via-host" });
  });

  it("is not checked when the emulator is bound to another interface; browsers still are refused", async () => {
    const wide = await useEmulator({ host: "0.0.0.0", apiKey: KEY });
    try {
      expect((await raw(wide.url, "/v2/serverless", { host: "emulator.internal:8080" })).status).toBe(200);
      expect((await raw(wide.url, "/v2/serverless", { host: "emulator.internal:8080", origin: "http://emulator.internal:8080" })).status).toBe(403);
    } finally {
      await wide.close();
    }
  });
});

describe("workers calling back", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "emu-callback-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("get through an emulator with an API key using the RUNPOD_API_KEY they are given", async () => {
    // An LB worker that, asked anything, lists endpoints with its own RUNPOD_API_KEY.
    const script = join(dir, "callback-worker.mjs");
    await writeFile(
      script,
      `import { createServer } from "node:http";
createServer(async (req, res) => {
  if (req.url === "/ping") return void res.writeHead(200).end();
  const answer = await fetch(process.env.RUNPOD_API_BASE_URL + "/v2/serverless", { headers: { authorization: "Bearer " + process.env.RUNPOD_API_KEY } });
  const body = await answer.json();
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: answer.status, key: process.env.RUNPOD_API_KEY, names: (body.endpoints ?? []).map((e) => e.name) }));
}).listen(Number(process.env.PORT), "127.0.0.1");
`,
    );
    const caller = await t.createEndpoint({ name: "lb-caller", type: "LOAD_BALANCER", args: `node ${JSON.stringify(script)}`, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const answer = await t.json<{ status: number; key: string; names: string[] }>(`/lb/${caller.id}/call`);
    expect(answer).toEqual({ status: 200, key: t.emulator.workerApiKey, names: expect.arrayContaining(["lb-caller", "lb-guarded"]) });
  });
});

interface CliEmulator {
  child: ChildProcess;
  output(): string;
  /** The URL once it listens; undefined when the process exited first. */
  url: Promise<string | undefined>;
  exited: Promise<number | null>;
}

const cliChildren: ChildProcess[] = [];
const cliDirs: string[] = [];
afterEach(async () => {
  for (const child of cliChildren.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all(cliDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "emu-keys-"));
  cliDirs.push(dir);
  return dir;
}

/** Runs the built `flash emulator` with exactly these arguments and variables (no key inherited from the test's environment). */
function runEmulator(args: string[], env: Record<string, string> = {}): CliEmulator {
  const vars = childEnv(env);
  if (!("FLASH_EMULATOR_API_KEY" in env)) delete vars.FLASH_EMULATOR_API_KEY;
  const child = spawn(process.execPath, [CLI, "emulator", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"], env: vars });
  cliChildren.push(child);
  let text = "";
  child.stdout!.on("data", (c: Buffer) => (text += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = Promise.race([waitFor("the URL", () => /listening on (http:\/\/\S+)/.exec(text)?.[1], 30_000), exited.then(() => undefined)]);
  return { child, output: () => text, url, exited };
}

/** The command line of a process as any local user sees it. */
function commandLine(pid: number): string {
  return execFileSync("ps", ["-ww", "-o", "args=", "-p", String(pid)], { encoding: "utf8" });
}

const listStatus = async (url: string, key?: string): Promise<number> =>
  (await fetch(`${url}/v2/serverless`, key ? { headers: { authorization: `Bearer ${key}` } } : {})).status;

describe("flash emulator and its API key (real processes)", () => {
  const SECRET = "env-key-0f3c9a71d2b84e56";

  it("takes the key from FLASH_EMULATOR_API_KEY, and it does not show in ps", async () => {
    const emu = runEmulator([], { FLASH_EMULATOR_API_KEY: SECRET });
    const url = (await emu.url)!;
    expect(url, emu.output()).toBeDefined();
    expect(await listStatus(url)).toBe(401);
    expect(await listStatus(url, SECRET)).toBe(200);
    expect(commandLine(emu.child.pid!)).not.toContain(SECRET);
    expect(emu.output()).not.toContain(SECRET);
    expect(emu.output()).not.toMatch(/without an API key/);
  });

  it("takes the key from --api-key-file (trailing newline ignored), and it does not show in ps", async () => {
    const dir = await tempDir();
    const file = join(dir, "emulator.key");
    await writeFile(file, `${SECRET}\n`, { mode: 0o600 });
    const emu = runEmulator(["--api-key-file", file]);
    const url = (await emu.url)!;
    expect(url, emu.output()).toBeDefined();
    expect(await listStatus(url)).toBe(401);
    expect(await listStatus(url, SECRET)).toBe(200);
    expect(commandLine(emu.child.pid!)).not.toContain(SECRET);
    expect(emu.output()).not.toContain(SECRET);
  });

  it("refuses an empty or missing key file, and two sources of the key at once", async () => {
    const dir = await tempDir();
    const empty = join(dir, "empty.key");
    await writeFile(empty, "\n");
    for (const [args, message] of [
      [["--api-key-file", empty], /is empty/],
      [["--api-key-file", join(dir, "missing.key")], /cannot read/i],
      [["--api-key-file", empty, "--api-key", "x"], /either --api-key or --api-key-file/],
    ] as const) {
      const emu = runEmulator([...args]);
      expect(await emu.url, emu.output()).toBeUndefined();
      expect(await emu.exited).toBe(1);
      expect(emu.output()).toMatch(message);
    }
  });

  it("warns when started without a key on loopback, and still serves", async () => {
    const emu = runEmulator([]);
    const url = (await emu.url)!;
    expect(url, emu.output()).toBeDefined();
    // The warning goes to stderr, the URL to stdout: two pipes, so it may arrive after the URL.
    await waitFor("the no-key warning", () => /without an API key.*FLASH_EMULATOR_API_KEY/s.test(emu.output()), 10_000);
    expect(await listStatus(url)).toBe(200);
  });

  it("refuses to start on a non-loopback host without a key (exit 1, says what to do)", async () => {
    const emu = runEmulator(["--host", "0.0.0.0"]);
    const url = await emu.url;
    if (url) emu.child.kill("SIGINT");
    expect(url, "it started listening on 0.0.0.0 without a key").toBeUndefined();
    expect(await emu.exited).toBe(1);
    expect(emu.output()).toMatch(/0\.0\.0\.0.*API key/s);
    expect(emu.output()).toMatch(/FLASH_EMULATOR_API_KEY|--api-key-file/);
    // With a key it starts there.
    const keyed = runEmulator(["--host", "0.0.0.0"], { FLASH_EMULATOR_API_KEY: SECRET });
    expect(await keyed.url, keyed.output()).toBeDefined();
  });

  it("keeps the state file (endpoints' env) at 0600 in a 0700 folder, also when they existed wider", async () => {
    const root = await tempDir();
    const stateDir = join(root, "state");
    await mkdir(stateDir, { mode: 0o755 });
    await chmod(stateDir, 0o755);
    const stateFile = join(stateDir, "emulator-state.json");
    await writeFile(stateFile, JSON.stringify({ format: "flash-ts-emulator-state", version: 1, endpoints: [] }), { mode: 0o644 });
    await chmod(stateFile, 0o644);
    const emu = runEmulator(["--state-dir", stateDir], { FLASH_EMULATOR_API_KEY: SECRET });
    const url = (await emu.url)!;
    expect(url, emu.output()).toBeDefined();
    const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
    expect(await mode(stateFile)).toBe(0o600);
    expect(await mode(stateDir)).toBe(0o700);

    const created = await fetch(`${url}/v2/serverless`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "private-env", type: "QUEUE", scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, image: "x", cpu: [{ id: "cpu3c", vcpuCount: 2 }], args: FAKE_WORKER_COMMAND, env: { RUNPOD_API_KEY: "account-key-in-env" }, workers: { min: 0, max: 1, idleTimeout: 30 } }),
    });
    expect(created.status).toBe(201);
    await waitFor("the endpoint saved", async () => (await readFile(stateFile, "utf8")).includes("private-env"));
    expect(await mode(stateFile)).toBe(0o600);

    // A fresh folder is created private.
    const fresh = join(root, "fresh", "state");
    const second = runEmulator(["--state-dir", fresh], { FLASH_EMULATOR_API_KEY: SECRET });
    const url2 = (await second.url)!;
    expect(url2, second.output()).toBeDefined();
    await fetch(`${url2}/v2/serverless`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "private-2", type: "QUEUE", scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, image: "x", cpu: [{ id: "cpu3c", vcpuCount: 2 }], args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 1, idleTimeout: 30 } }),
    });
    await waitFor("the second state file", async () => (await readFile(join(fresh, "emulator-state.json"), "utf8").catch(() => "")).includes("private-2"));
    expect(await mode(fresh)).toBe(0o700);
    expect(await mode(join(fresh, "emulator-state.json"))).toBe(0o600);
  });
});
