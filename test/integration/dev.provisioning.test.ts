/**
 * Local execution with real emulator and worker processes: concurrent first
 * calls provision an endpoint once, a restart reuses cached endpoints (no
 * second create), `.env` edits restart with the new values, a taken port
 * moves to the next free one, and --auto-provision provisions before serving.
 * Sessions run in this process and are waited on through their events; the
 * refusal to provision more than five endpoints without a terminal goes
 * through the CLI, whose terminal it is about.
 */
import { createServer } from "node:net";
import type { Server } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import type { DevProcess } from "../helpers/dev-process.js";
import { startInProcessSession } from "../helpers/dev-session.js";
import type { InProcessSession } from "../helpers/dev-session.js";
import { waitFor } from "../helpers/wait.js";

let dir: string;
let dev: InProcessSession | undefined;
let cli: DevProcess | undefined;

const qb = (name: string, file = name) => [
  `${file}.ts`,
  `import { remote, CpuLiveServerless } from "flash-ts";
export const run = remote(new CpuLiveServerless({ name: ${JSON.stringify(name)}, workersMax: 2 }), async (input: { n?: number }) => ({ n: input?.n ?? 0, worker: ${JSON.stringify(name)} }));
`,
] as const;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-provisioning-"));
});
afterEach(async () => {
  await dev?.close();
  await cli?.stop();
  dev = undefined;
  cli = undefined;
  // The .env test's session works on process.env (module code and local functions read it).
  delete process.env.GREETING;
  await rm(dir, { recursive: true, force: true });
});

async function write(files: (readonly [string, string])[]): Promise<void> {
  for (const [name, text] of files) await writeFile(join(dir, name), text);
}

/**
 * The endpoints the embedded emulator holds, from its state file (its API
 * takes a key that only the dev server knows). The file exists once an
 * endpoint was created; any other read or parse error fails the test.
 */
async function endpoints(): Promise<{ id: string; name: string }[]> {
  let text: string;
  try {
    text = await readFile(join(dir, ".runpod", "emulator", "emulator-state.json"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const state = JSON.parse(text) as { endpoints: { endpoint: { id: string; name: string } }[] };
  return state.endpoints.map(({ endpoint }) => ({ id: endpoint.id, name: endpoint.name }));
}

/** The endpoint names once they are `expected` (writes are coalesced), or as they are after 10 s. */
async function endpointNames(expected: string[]): Promise<string[]> {
  let names: string[] = [];
  await waitFor(
    `endpoints ${expected.join(", ")}`,
    async () => {
      names = (await endpoints()).map((e) => e.name).sort();
      return JSON.stringify(names) === JSON.stringify(expected);
    },
    10_000,
  ).catch(() => undefined); // the caller's expect shows the difference
  return names;
}

async function call(d: { url: string }, path: string, input: unknown = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(d.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("provisioning in local mode", () => {
  it("concurrent first calls create the endpoint once; a restart reuses it without creating it again", async () => {
    await write([qb("alpha")]);
    dev = await startInProcessSession(dir);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => call(dev!, "/alpha/run_sync", { n: i })));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(results.map((r) => (r.body.output as { n: number }).n).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Created once: a second create would be a second endpoint of that name.
    expect(await endpointNames(["live-alpha"])).toEqual(["live-alpha"]);
    // The embedded emulator runs start commands: it answers only the dev server (a key per session).
    const emulatorUrl = dev.session.backend().description.match(/local emulator at (http:\/\/\S+)/)![1]!;
    const probe = await fetch(`${emulatorUrl}/v2/serverless`, { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
    expect(probe.status).toBe(401);
    const first = await endpoints();
    const cache = JSON.parse(await readFile(join(dir, ".runpod", "resources.json"), "utf8")) as { endpoints: Record<string, { id: string; name: string }> };
    expect(Object.values(cache.endpoints).map((e) => [e.name, e.id])).toEqual([["live-alpha", first[0]!.id]]);
    expect(JSON.stringify(cache)).not.toMatch(/RUNPOD_API_KEY/);
    await dev.close();

    dev = await startInProcessSession(dir);
    expect((await call(dev, "/alpha/run_sync", { n: 9 })).body).toMatchObject({ status: "COMPLETED", output: { n: 9 } });
    expect((await endpoints()).map((e) => e.id)).toEqual([first[0]!.id]);
  });

  it("a change to .env restarts with the new values", async () => {
    await write([
      [".env", "GREETING=hello\n"],
      [
        "greet.ts",
        `import { remote, CpuLiveServerless } from "flash-ts";
export const greet = remote(new CpuLiveServerless({ name: "greet" }), { local: true }, async () => ({ greeting: process.env.GREETING ?? null }));
`,
      ],
      [
        // A config that takes a value from the environment when the module loads.
        "remote_greet.ts",
        `import { remote, CpuLiveServerless } from "flash-ts";
const cpu = new CpuLiveServerless({ name: "remote-greet", env: { GREETING: process.env.GREETING ?? "unset" } });
export const greet = remote(cpu, async () => ({ greeting: process.env.GREETING ?? null }));
`,
      ],
    ]);
    dev = await startInProcessSession(dir, { env: process.env });
    expect((await call(dev, "/greet/run_sync")).body).toMatchObject({ output: { greeting: "hello" } });
    expect((await call(dev, "/remote_greet/run_sync")).body).toMatchObject({ output: { greeting: "hello" } });
    const changed = dev.next("envChanged");
    const reloaded = dev.next("reloadFinished", (e) => e.paths.includes(".env"));
    await writeFile(join(dir, ".env"), "GREETING=bonjour\n");
    expect(await changed).toEqual({ keys: ["GREETING"], restartsBackend: false, keyIgnored: false });
    expect(await reloaded).toMatchObject({ ok: true });
    expect((await call(dev, "/greet/run_sync")).body).toMatchObject({ output: { greeting: "bonjour" } });
    // The module was imported again with the new environment: the endpoint was updated and its worker sees it.
    expect((await call(dev, "/remote_greet/run_sync")).body).toMatchObject({ output: { greeting: "bonjour" } });
  });

  it("a taken port moves to the next free one, with a notice", async () => {
    await write([qb("beta")]);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const taken = (blocker.address() as { port: number }).port;
    try {
      dev = await startInProcessSession(dir, { flags: { port: String(taken) } });
      const [notice] = dev.all("portMoved");
      expect(notice).toEqual({ requested: taken, port: expect.any(Number) });
      expect(notice!.port).not.toBe(taken);
      expect(new URL(dev.url).port).toBe(String(notice!.port));
      // Reported before the banner, which shows the port actually used.
      expect(dev.seen.findIndex((e) => e.kind === "portMoved")).toBeLessThan(dev.seen.findIndex((e) => e.kind === "ready"));
      expect((await call(dev, "/beta/run_sync")).status).toBe(200);
    } finally {
      blocker.close();
    }
  });

  it("--auto-provision provisions every endpoint before serving", async () => {
    await write([qb("one"), qb("two")]);
    dev = await startInProcessSession(dir, { flags: { autoProvision: true } });
    const order = dev.seen.map((e) => e.kind).filter((k) => k.startsWith("provision") || k === "ready");
    expect(order).toEqual(["provisionStarted", "provisionResult", "provisionResult", "provisionFinished", "ready"]);
    expect(dev.all("provisionResult")).toEqual([
      expect.objectContaining({ endpointName: "live-one", ok: true, outcome: "created" }),
      expect.objectContaining({ endpointName: "live-two", ok: true, outcome: "created" }),
    ]);
    expect(await endpointNames(["live-one", "live-two"])).toEqual(["live-one", "live-two"]);
  });

  it("--auto-provision refuses more than five endpoints without a terminal to confirm, unless --yes", async () => {
    await write(Array.from({ length: 6 }, (_, i) => qb(`svc${i}`)));
    cli = await startDevProcess(dir, ["--auto-provision"]);
    expect(cli.output()).toMatch(/Not provisioning more than 5 endpoints without confirmation/);
    expect(cli.output()).not.toMatch(/live-svc\d created|Provisioned live-svc/);
    // The emulator writes its state on the way out: after a clean stop the file is the whole truth.
    expect(await cli.stop()).toBe(0);
    expect(await endpoints()).toEqual([]);
    cli = await startDevProcess(dir, ["--auto-provision", "--yes"]);
    const all = ["live-svc0", "live-svc1", "live-svc2", "live-svc3", "live-svc4", "live-svc5"];
    expect(await endpointNames(all)).toEqual(all);
  });
});
