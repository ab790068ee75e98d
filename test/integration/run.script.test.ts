/**
 * Issue acceptance (calls from a plain script): `flash run script.ts` in local
 * mode, with the real emulator and worker processes. A script calls
 * functions defined in a file it imports (remote(), a queue-based endpoint;
 * an Endpoint route, a load-balanced one) and in itself (Endpoint.fn), and an
 * Endpoint client; it prints their results, and nothing of the run is left
 * once it exits.
 */
import { mkdtemp, realpath, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../src/emulator/index.js";
import { nullLogger } from "../../src/common/logger.js";
import { removeProject, startDevProcess } from "../helpers/dev-process.js";
import { isAlive, killProcesses, processTree, startCli } from "../helpers/processes.js";
import type { StartedProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

let dir: string;

const FILES: Record<string, string> = {
  "package.json": JSON.stringify({ type: "module" }),
  "workers/math.ts": [
    'import { remote, LiveServerless } from "flash-ts";',
    'export const add = remote(new LiveServerless({ name: "run-math" }), async (a: number, b: number) => {',
    "  console.log(`adding ${a} and ${b}`);",
    "  return { sum: a + b, pid: process.pid };",
    "});",
  ].join("\n"),
  "workers/api.ts": [
    'import { Endpoint } from "flash-ts";',
    'const api = new Endpoint({ name: "run-api", cpu: "cpu3c-2-4" });',
    'export const shout = api.post("/shout", async (body: { text: string }) => ({ text: body.text.toUpperCase(), pid: process.pid }));',
  ].join("\n"),
  "calls.ts": [
    'import { Endpoint } from "flash-ts";',
    'import { add } from "./workers/math";',
    'import { shout } from "./workers/api";',
    "",
    'export const twice = Endpoint.fn({ name: "run-twice", cpu: "cpu3c-2-4" }, async (n: number) => ({ twice: n * 2, pid: process.pid }));',
    "",
    "async function main() {",
    '  console.log("argv " + JSON.stringify(process.argv.slice(1)));',
    '  console.log("script pid " + process.pid);',
    "  const [sum, loud, doubled] = await Promise.all([add(2, 3), shout({ text: \"hi\" }), twice(4)]);",
    '  console.log("add " + JSON.stringify(sum));',
    '  console.log("shout " + JSON.stringify(loud));',
    '  console.log("twice " + JSON.stringify(doubled));',
    // A client of an endpoint the run provisioned: it reaches the same backend.
    '  const job = await Endpoint.connect({ name: "live-run-twice" }).run({ not: "a function request" });',
    '  console.log("client job " + (typeof job.id) + " " + (await job.status()));',
    "}",
    "",
    "if (import.meta.main) await main();",
  ].join("\n"),
  "plain.ts": 'console.log("no remote calls here", 1 + 1);\n',
  "exit-code.ts": 'console.log("setting the exit code");\nprocess.exitCode = 3;\n',
  "uncaught.ts": ['interface Shape {', "  kind: string;", "}", "const shape: Shape = { kind: \"x\" };", 'if (shape.kind === "x") throw new Error("uncaught in the script");', ""].join("\n"),
  "bad.ts": "const ok = 1;\nconst broken = (;\n",
  "fails.ts": [
    'import { remote, LiveServerless } from "flash-ts";',
    'export const boom = remote(new LiveServerless({ name: "run-boom" }), async (x: number) => {',
    "  throw new TypeError(`bad x ${x}`);",
    "});",
    "if (import.meta.main) {",
    "  try {",
    "    await boom(7);",
    "  } catch (error) {",
    "    const e = error as Error & { code: string };",
    '    console.log("caught " + e.code + " " + e.name + " " + e.message);',
    '    console.log("stack " + JSON.stringify(e.stack));',
    "  }",
    "}",
  ].join("\n"),
  "unguarded.ts": [
    'import { Endpoint } from "flash-ts";',
    'export const hello = Endpoint.fn({ name: "run-hello", cpu: "cpu3c-2-4" }, async () => "hi");',
    "console.log(await hello());",
  ].join("\n"),
  "slow.ts": [
    'import { remote, LiveServerless } from "flash-ts";',
    'export const slow = remote(new LiveServerless({ name: "run-slow" }), async () => {',
    '  console.log("slow started");',
    "  await new Promise((resolve) => setTimeout(resolve, 600_000));",
    '  return "never";',
    "});",
    "if (import.meta.main) console.log(await slow());",
  ].join("\n"),
};

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "flash-run-")));
  for (const [file, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
});

afterEach(async () => {
  await killProcesses();
});

afterAll(async () => {
  await removeProject(dir);
});

/** Runs `flash run …` in the project; samples its process tree until it exits. */
async function flashRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ run: StartedProcess; code: number | string; seen: Set<number> }> {
  const run = startCli(["run", ...args], { cwd: dir, env });
  const seen = new Set<number>();
  let done = false;
  const sampling = (async () => {
    while (!done && run.child.pid !== undefined) {
      for (const pid of processTree(run.child.pid)) seen.add(pid);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const code = await run.closed;
  done = true;
  await sampling;
  return { run, code, seen };
}

function line(output: string, prefix: string): string {
  const found = output.split("\n").find((l) => l.startsWith(prefix));
  if (found === undefined) throw new Error(`no line starting with "${prefix}" in:\n${output}`);
  return found.slice(prefix.length);
}

describe("flash run", () => {
  it("runs a script whose calls run on their endpoints, prints the results, and leaves no process behind", async () => {
    const { run, code, seen } = await flashRun(["calls.ts", "one", "two words"]);
    const out = run.stdout();
    expect(code, run.output()).toBe(0);
    // process.argv as under `node calls.ts one "two words"`.
    expect(JSON.parse(line(out, "argv "))).toEqual([join(dir, "calls.ts"), "one", "two words"]);
    const scriptPid = Number(line(out, "script pid "));
    const sum = JSON.parse(line(out, "add ")) as { sum: number; pid: number };
    const loud = JSON.parse(line(out, "shout ")) as { text: string; pid: number };
    const doubled = JSON.parse(line(out, "twice ")) as { twice: number; pid: number };
    expect(sum.sum).toBe(5);
    expect(loud.text).toBe("HI");
    expect(doubled.twice).toBe(8);
    expect(line(out, "client job ")).toMatch(/^string (IN_QUEUE|IN_PROGRESS|COMPLETED|FAILED)$/);
    // Each function ran in a worker process of its endpoint, not in the script.
    const workers = [sum.pid, loud.pid, doubled.pid];
    expect(new Set([scriptPid, ...workers]).size).toBe(4);
    // Worker output is printed as flash dev prints it, and flash-ts's own lines go to stderr.
    expect(run.stderr()).toContain("[live-run-math] adding 2 and 3");
    expect(run.stderr()).toMatch(/flash run calls\.ts — local emulator at http:\/\/127\.0\.0\.1:\d+ — no RUNPOD_API_KEY/);
    // Nothing of the run is left: the script, the workers, every descendant seen while it ran.
    for (const pid of [scriptPid, ...workers]) expect(seen.has(pid) || workers.includes(pid)).toBe(true);
    await waitFor("every process of the run to be gone", () => [...seen, ...workers].every((pid) => !isAlive(pid)), 10_000);
  });

  it("runs a script that calls nothing remote, and exits with the script's exit code", async () => {
    const plain = await flashRun(["plain.ts"]);
    expect(plain.code, plain.run.output()).toBe(0);
    expect(plain.run.stdout()).toContain("no remote calls here 2");
    const exit = await flashRun(["exit-code.ts"]);
    expect(exit.code, exit.run.output()).toBe(3);
    expect(exit.run.stdout()).toContain("setting the exit code");
  });

  it("exits 1 on an uncaught error, printed at the script's own line", async () => {
    const { run, code } = await flashRun(["uncaught.ts"]);
    expect(code).toBe(1);
    expect(run.stderr()).toContain("uncaught in the script");
    // Line 5 of the .ts file (the interface above it is gone from the compiled code).
    expect(run.stderr()).toContain(`${join(dir, "uncaught.ts")}:5:`);
  });

  it("hands the script a failed function's error: code, name, message and the remote stack", async () => {
    const { run, code } = await flashRun(["fails.ts"]);
    expect(code, run.output()).toBe(0);
    expect(line(run.stdout(), "caught ")).toBe("FUNCTION_ERROR TypeError bad x 7");
    const stack = JSON.parse(line(run.stdout(), "stack ")) as string;
    expect(stack).toMatch(/fails\.ts:3:\d+/); // where it was thrown, on the worker
    expect(stack).toContain(`${join(dir, "fails.ts")}:7:`); // where the script called it
  });

  it("refuses a file that does not exist, and one with a syntax error naming file:line:column (exit 1)", async () => {
    const missing = await flashRun(["nope.ts"]);
    expect(missing.code).toBe(1);
    expect(missing.run.stderr()).toContain("nope.ts: no such file");
    const bad = await flashRun(["bad.ts"]);
    expect(bad.code).toBe(1);
    expect(bad.run.stderr()).toMatch(/bad\.ts:2:17: Unexpected ";"/);
  });

  it("explains a script that calls its own function at its top level without import.meta.main", async () => {
    const { run, code } = await flashRun(["unguarded.ts"]);
    expect(code).toBe(1);
    expect(run.stderr()).toContain("cannot call unguarded.ts#hello: unguarded.ts does not load on its own");
    expect(run.stderr()).toContain("if (import.meta.main)");
  });

  it("runs beside a flash dev of the same project: neither blocks the other (no session lock; the endpoint cache is shared under its lock)", async () => {
    const dev = await startDevProcess(dir);
    try {
      const { run, code } = await flashRun(["calls.ts"]);
      expect(code, run.output()).toBe(0);
      expect(JSON.parse(line(run.stdout(), "add "))).toMatchObject({ sum: 5 });
      // flash dev still serves.
      const res = await fetch(`${dev.url}/workers/math/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: [1, 2] }) });
      expect(res.status).toBe(200);
    } finally {
      await dev.stop();
    }
  });

  it("runs on Runpod with a key, found as flash dev finds it (here in the credentials file), and its Endpoint clients get the key", async () => {
    const key = "rpa_RUNKEY_0123456789abcdef";
    const stateDir = await mkdtemp(join(tmpdir(), "flash-run-runpod-"));
    const runpod = await startEmulator({ apiKey: key, stateDir, logger: nullLogger });
    const credentials = join(stateDir, "config.toml");
    await writeFile(credentials, `[default]\napi_key = "${key}"\n`);
    try {
      const { run, code } = await flashRun(["calls.ts"], { FLASH_CREDENTIALS_FILE: credentials, RUNPOD_API_BASE_URL: runpod.url, RUNPOD_ENDPOINT_BASE_URL: `${runpod.url}/v2` });
      expect(code, run.output()).toBe(0);
      expect(run.stderr()).toContain(`flash run calls.ts — Runpod (${runpod.url}) — key from ${credentials} (RUNPOD_API_KEY is not set)`);
      expect(JSON.parse(line(run.stdout(), "twice "))).toMatchObject({ twice: 8 });
      expect(line(run.stdout(), "client job ")).toMatch(/^string /);
      expect(runpod.state().endpoints.map((e) => e.name).sort()).toEqual(["live-run-api", "live-run-math", "live-run-twice"]);
      expect(run.output()).not.toContain(key);
    } finally {
      await runpod.close();
      await removeProject(stateDir);
    }
  });

  it("Ctrl-C cancels the call in flight and ends the script, leaving no process behind", async () => {
    const run = startCli(["run", "slow.ts"], { cwd: dir, env: { FLASH_LOG_LEVEL: "debug" } });
    // The job is submitted, and the worker that takes it has its runtime.
    await run.waitForOutput(/POST http:\/\/127\.0\.0\.1:\d+\/v2\/[a-z0-9]+\/run → 200/, { timeoutMs: 60_000 });
    await run.waitForOutput(/\[live-run-slow\] \[worker\] flash-ts runtime .* took over from the bootstrap/, { timeoutMs: 60_000 });
    const tree = processTree(run.child.pid!);
    expect(tree.length).toBeGreaterThan(2); // the script and a worker at least
    run.child.kill("SIGINT");
    expect(await run.closed).toBe(130);
    // The job was cancelled on the emulator before it stopped.
    expect(run.stderr()).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/v2\/[a-z0-9]+\/cancel\/\S+ → 200/);
    expect(run.stdout()).not.toContain("never");
    await waitFor("every process of the run to be gone", () => tree.every((pid) => !isAlive(pid)), 10_000);
  });
});
