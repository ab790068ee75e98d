/**
 * kill -9 during cache writes, with real processes and the real (built)
 * resource cache: 200 cycles of a process writing `.runpod/resources.json`,
 * side by side with this one, killed with SIGKILL at a random moment. After
 * every cycle the next acquirer must get the lock without waiting for
 * anything (no stuck lock) and the cache must parse (no corrupt file).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/common/package-info.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLock } from "../../src/common/lock.js";
import { createResourceCache } from "../../src/provision/resource-cache.js";
import { FakeClock } from "../helpers/fake-clock.js";

/** The built code of the package under test (the source package the global setup made). */
const DIST = join(PACKAGE_ROOT, "dist");
const CYCLES = Number(process.env.KILL9_CYCLES ?? 200);

const CHILD = `
const [dist, dir, lane] = process.argv.slice(2);
const { createResourceCache } = await import(dist + "/provision/resource-cache.js");
const cache = createResourceCache(dir);
process.stdout.write("ready\\n");
await new Promise((go) => process.stdin.once("data", go));
for (let i = 0; ; i++) {
  const at = new Date().toISOString();
  await cache.put({ name: "live-e" + (i % 7), id: "ep-" + lane + "-" + i, kind: "QB", backend: "local", configHash: "h" + i, createdAt: at, updatedAt: at, projectId: "p-kill9", workersMin: 0 });
  process.stdout.write("w");
}
`;

let dir: string;
let script: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-kill9-"));
  script = join(dir, "..", `${dir.split("/").pop()}-child.mjs`);
  await writeFile(script, CHILD);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(script, { force: true });
});

interface Writer {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
  stderr: () => string;
  writes: () => number;
  /** Resolves once the writer has completed `n` writes (or exited). */
  written: (n: number) => Promise<void>;
}

/** Starts a writer process; it loads the code, says ready, and writes once told to. */
function startWriter(cycle: number): Writer {
  const child = spawn(process.execPath, [script, DIST, dir, String(cycle)], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  let writes = 0;
  const waiters = new Set<() => void>();
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on("data", (chunk: Buffer) => {
    writes += chunk.toString().split("w").length - 1;
    for (const check of [...waiters]) check();
  });
  const exited = new Promise<void>((resolveExit) => child.on("exit", () => resolveExit()));
  const ready = new Promise<void>((resolveReady, fail) => {
    child.stdout!.once("data", () => resolveReady());
    child.once("exit", () => fail(new Error(`writer exited before writing:\n${stderr}`)));
  });
  ready.catch(() => {});
  const written = (n: number): Promise<void> =>
    Promise.race([
      exited,
      new Promise<void>((reached) => {
        const check = (): void => {
          if (writes < n) return;
          waiters.delete(check);
          reached();
        };
        waiters.add(check);
        check();
      }),
    ]);
  return { child, ready, exited, stderr: () => stderr, writes: () => writes, written };
}

/**
 * Lets a writer run for a random moment once it is writing (while this
 * process writes too, so they contend), then kills it with SIGKILL. The
 * writer keeps writing alone while ours finishes its last write, so the
 * moment stays random, and the check after the kill is the first acquirer.
 */
async function writeAndKill(writer: Writer): Promise<void> {
  await writer.ready;
  writer.child.stdin!.write("go\n");
  const cache = createResourceCache(dir);
  let writing = true;
  const ours = (async () => {
    for (let i = 0; writing; i++) {
      await cache.put({ name: `live-e${i % 7}`, id: `ep-here-${i}`, kind: "QB", backend: "local", configHash: "h", createdAt: "", updatedAt: "", projectId: "p-kill9", workersMin: 0 });
    }
  })();
  // The moment: after 0 or 1 completed writes, then up to 15 ms more, so kills land in every phase.
  await writer.written(Math.floor(Math.random() * 2));
  await new Promise((moment) => setTimeout(moment, Math.random() * 15));
  writing = false;
  await ours;
  writer.child.kill("SIGKILL");
  await writer.exited; // reaped: its pid is gone
}

describe("the resource cache under kill -9", () => {
  it(`${CYCLES} cycles of writers killed mid-write leave no stuck lock and no corrupt file`, { timeout: 180_000 }, async () => {
    const cachePath = join(dir, "resources.json");
    const stuck: { cycle: number; error: string }[] = [];
    const corrupt: { cycle: number; text: string }[] = [];
    const errors: string[] = [];
    let childWrites = 0;
    let locksLeft = 0;
    // The next writers start (load their code) while the current one runs: process start-up dominates a cycle.
    const AHEAD = 3;
    const queue = Array.from({ length: AHEAD }, (_, i) => startWriter(i));
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const writer = queue.shift()!;
      queue.push(startWriter(cycle + AHEAD));
      await writeAndKill(writer);
      if (writer.stderr().trim() !== "") errors.push(writer.stderr());
      childWrites += writer.writes();
      if ((await readdir(dir)).includes("resources.json.lock")) locksLeft++;
      // Time stands still for this acquirer: it gets the lock only if nothing is left to wait out.
      try {
        const held = await acquireLock(`${cachePath}.lock`, { clock: new FakeClock(), onBusy: () => "fail" });
        await held.release();
      } catch (error) {
        stuck.push({ cycle, error: (error as Error).message });
      }
      const text = await readFile(cachePath, "utf8").catch(() => undefined);
      if (text !== undefined) {
        try {
          const parsed = JSON.parse(text) as { version?: unknown; endpoints?: unknown };
          if (parsed.version !== 1 || typeof parsed.endpoints !== "object") throw new Error("not a cache");
        } catch {
          corrupt.push({ cycle, text: text.slice(0, 200) });
        }
      }
      if (stuck.length + corrupt.length > 5) break;
    }
    for (const spare of queue) spare.child.kill("SIGKILL");
    await Promise.all(queue.map((spare) => spare.exited));
    expect(stuck).toEqual([]);
    expect(corrupt).toEqual([]);
    expect(errors).toEqual([]);
    // The kills did land mid-write, and some left their lock behind for the next acquirer to take over.
    expect(childWrites).toBeGreaterThan(CYCLES);
    expect(locksLeft).toBeGreaterThan(0);
    console.log(`kill -9 loop: ${CYCLES} kills, ${childWrites} writes by the killed processes, ${locksLeft} locks left behind and taken over`);
    // The writers did write, and the real cache still works after all of it.
    const cache = createResourceCache(dir);
    expect((await cache.list()).length).toBeGreaterThan(0);
    await cache.put({ name: "live-after", id: "ep-after", kind: "QB", backend: "local", configHash: "h", createdAt: "", updatedAt: "", projectId: "p-kill9", workersMin: 0 });
    expect((await cache.get("local", "live-after"))?.id).toBe("ep-after");
    // Nothing a killed writer left lingers: no lock, no temporary or moved-aside folders, no set-aside cache.
    expect(await readdir(dir)).toEqual(["resources.json"]);
  });
});
