/**
 * One `flash dev` per project, with real processes: a second session on the
 * same folder is refused, naming the first one's pid; a first session killed
 * with SIGKILL does not block the next; across the host and a container
 * sharing the folder through a bind mount (different pid namespaces and host
 * names), the session is refused too, and a dead container's claim expires
 * with its heartbeat.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { REPO_ROOT, startDevProcess } from "../helpers/dev-process.js";
import { CLI } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import type { DevProcess } from "../helpers/dev-process.js";
import { dockerAvailability } from "../container/docker-available.js";

let dir: string;
const sessions: DevProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-single-"));
  await writeFile(
    join(dir, "echo.ts"),
    `import { remote, CpuLiveServerless } from "flash-ts";
export const run = remote(new CpuLiveServerless({ name: "echo" }), { local: true }, async (input: { n?: number }) => ({ n: input?.n ?? 0 }));
`,
  );
});
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.stop();
  await rm(dir, { recursive: true, force: true });
});

async function start(): Promise<DevProcess> {
  const session = await startDevProcess(dir);
  sessions.push(session);
  return session;
}

/**
 * Runs a command to its end (a `flash dev` expected to refuse, a docker
 * command): its exit code and output. One still running after `timeoutMs` is
 * killed (a `flash dev` that started instead of refusing), and its code is null.
 */
function run(command: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, FLASH_CONTAINER: "0", NO_COLOR: "1" };
  delete env.RUNPOD_API_KEY;
  const child: ChildProcess = spawn(command, args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolveRun) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    }),
  );
}

describe("two flash dev on one project", () => {
  it("refuses the second, naming the first one's pid and what to do", async () => {
    const first = await start();
    const second = await run(process.execPath, [CLI, "dev", "--no-container", "--port", "0"], 30_000);
    expect(second.code).toBe(1);
    expect(second.output).toMatch(new RegExp(`flash dev is already running for this project: pid ${first.child.pid} on this machine`));
    expect(second.output).toMatch(new RegExp(`kill ${first.child.pid}`));
    expect(second.output).not.toMatch(/Flash Dev Server/);
    // The first one is unaffected.
    const res = await fetch(`${first.url}/echo/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"input":{"n":3}}' });
    expect(await res.json()).toMatchObject({ output: { n: 3 } });
  });

  it("lets the next one start at once after the first was killed with SIGKILL, and after a clean stop", async () => {
    const first = await start();
    await first.stop("SIGKILL");
    const second = await start();
    expect(second.output()).not.toMatch(/Another flash dev holds this project/);
    expect(await second.stop()).toBe(0);
    const third = await start();
    expect(third.output()).not.toMatch(/Another flash dev holds this project/);
  });
});

const docker = await dockerAvailability();
const IMAGE = "node:24-bookworm-slim";

describe.skipIf(!docker.available)("across the host and a container sharing the project (Docker)", () => {
  const containers: string[] = [];
  afterEach(async () => {
    for (const name of containers.splice(0)) await run("docker", ["rm", "-f", name]);
  });

  /** `flash dev` of this checkout, inside a container that sees the project at the same path. */
  function containerArgs(name: string, detach: boolean): string[] {
    return [
      "run",
      ...(detach ? ["-d"] : []),
      "--rm",
      "--name",
      name,
      "--label",
      "flash-ts.test=dev.single-session",
      "--user",
      `${process.getuid?.() ?? 1000}:${process.getgid?.() ?? 1000}`,
      "-v",
      `${REPO_ROOT}:${REPO_ROOT}:ro`,
      "-v",
      `${dir}:${dir}`,
      "-w",
      dir,
      "-e",
      "FLASH_CONTAINER=0",
      "-e",
      "FLASH_IN_CONTAINER=1",
      "-e",
      "NO_COLOR=1",
      IMAGE,
      "node",
      CLI,
      "dev",
      "--no-container",
      "--port",
      "0",
    ];
  }

  it("refuses a session in a container while the host's runs, and the host's while the container's runs", { timeout: 120_000 }, async () => {
    const host = await start();
    const name = `flash-single-session-${process.pid}-a`;
    containers.push(name);
    const inContainer = await run("docker", containerArgs(name, false));
    expect(inContainer.output).toMatch(new RegExp(`flash dev is already running for this project: pid ${host.child.pid} on host \\S+`));
    expect(inContainer.code).toBe(1);
    await host.stop();

    const other = `flash-single-session-${process.pid}-b`;
    containers.push(other);
    expect((await run("docker", containerArgs(other, true))).code).toBe(0);
    // Wait for the container's session to hold the project.
    const owner = join(dir, ".runpod", "session.lock", "owner.json");
    await waitFor("the container's session to start", () => readFile(owner, "utf8").then(() => true, () => false), 60_000, 100);
    const onHost = await run(process.execPath, [CLI, "dev", "--no-container", "--port", "0"]);
    expect(onHost.code).toBe(1);
    expect(onHost.output).toMatch(/flash dev is already running for this project: pid \d+ in a dev container/);

    // The container dies without a word: its claim expires with its heartbeat, and the host can start.
    await run("docker", ["kill", other]);
    const after = await start();
    expect(after.output()).not.toMatch(/already running/);
  });
});
