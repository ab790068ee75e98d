/**
 * `flash dev --runpod` on a terminal: a real run under a pseudo-terminal
 * (util-linux `script`), against a stand-in Runpod. While a call is in flight
 * its state is one line at the bottom, redrawn in place; the function's lines
 * and the request lines scroll above it; when the call ends only the final
 * lines stay. What the screen shows is checked by replaying the output on a
 * small terminal emulator.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject } from "../helpers/dev-process.js";
import { FakeTerminal } from "../helpers/fake-terminal.js";
import { FIXTURES } from "../helpers/paths.js";
import { CLI, processTree, startProcess } from "../helpers/processes.js";
import type { StartedProcess } from "../helpers/processes.js";
import { startStandInRunpod } from "../helpers/stand-in-runpod.js";
import type { StandInRunpod } from "../helpers/stand-in-runpod.js";
import { waitFor } from "../helpers/wait.js";

const KEY = "rpa_LIVE_TTY_0123456789abcdef";
const COLUMNS = 120;
let runpod: StandInRunpod;
let project: string;
let gates: string;
let dev: StartedProcess;
let url: string;

/** util-linux `script` is part of Debian's base system; it is how a test gets a pseudo-terminal without native modules. */
const hasScript = ((): boolean => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** What the terminal shows after everything the dev server wrote so far. */
function replay(): string[] {
  const terminal = new FakeTerminal(COLUMNS);
  terminal.write(dev.output());
  return terminal.screen();
}

const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

beforeAll(async () => {
  if (!hasScript) throw new Error("util-linux `script` is missing: install bsdutils (Debian) to run this test");
  runpod = await startStandInRunpod(KEY);
  project = await copyProject(join(FIXTURES, "projects", "live-calls"));
  gates = await mkdtemp(join(tmpdir(), "flash-live-gates-"));
  const command = `stty cols ${COLUMNS} rows 50; exec ${quote(process.execPath)} ${quote(CLI)} dev --no-container --port 0 --runpod`;
  dev = startProcess("script", ["-qfc", command, "/dev/null"], { cwd: project, env: { ...runpod.env, RUNPOD_API_KEY: KEY, FLASH_CONTAINER: "0" } });
  url = (await dev.waitForOutput(/Flash Dev Server {2}(http:\/\/\S+)/, { timeoutMs: 60_000 }))[1]!;
  await dev.waitForOutput(/Press Ctrl\+C to stop/);
});

afterAll(async () => {
  if (dev) {
    // The dev server is the deepest process under `script`; Ctrl-C it as a user would.
    const pids = processTree(dev.child.pid!);
    for (const pid of pids.slice(1)) {
      try {
        process.kill(pid, "SIGINT");
      } catch {
        // gone already
      }
    }
    await dev.exited;
  }
  await runpod?.stop();
  if (project) await rm(project, { recursive: true, force: true });
  if (gates) await rm(gates, { recursive: true, force: true });
});

describe("flash dev on a terminal", () => {
  it("shows a call in flight as one line redrawn at the bottom, its output above it, and only the final lines once it ends", async () => {
    const gate = join(gates, "chatty.gate");
    const from = dev.output().length;
    const pending = fetch(`${url}/chatty/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: { lines: 7, gate } }) });
    await dev.waitForOutput(/\[live-chatty\] tick 6/, { timeoutMs: 60_000, from });
    // Mid-call (the output read between two writes may lack the line being redrawn: wait for a whole screen).
    const during = await waitFor("the live line under the last tick", () => {
      const screen = replay();
      return screen.includes("[live-chatty] tick 6") && /^… \[live-chatty\] POST \/chatty\/run_sync: running · \d+ s$/.test(screen.at(-1) ?? "") ? screen : undefined;
    });
    // Every line so far once, and one live line, last.
    for (let i = 0; i < 7; i++) expect(during.filter((l) => l === `[live-chatty] tick ${i}`)).toHaveLength(1);
    expect(during.filter((l) => l.startsWith("… "))).toHaveLength(1);

    await writeFile(gate, "");
    expect((await pending).status).toBe(200);
    await dev.waitForOutput(/POST \/chatty\/run_sync → live-chatty 200/, { from });
    const after = replay();
    // No live line left behind, nothing drawn twice; the final state and the request line stay.
    expect(after.filter((l) => l.startsWith("… "))).toEqual([]);
    const tail = after.slice(after.indexOf("[live-chatty] tick 0"));
    expect(tail).toEqual([
      ...[0, 1, 2, 3, 4, 5, 6].map((i) => `[live-chatty] tick ${i}`),
      expect.stringMatching(/^\[live-chatty\] POST \/chatty\/run_sync: done in \d+\.\d s$/),
      expect.stringMatching(/^\d\d:\d\d:\d\d POST \/chatty\/run_sync → live-chatty 200 \d+ ms$/),
    ]);
  });
});
