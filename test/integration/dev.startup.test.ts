/**
 * `flash dev` listens before its first discovery is done: the health routes
 * answer at once, and a function call sent that early waits for the routes
 * (as calls wait for a reload) instead of being refused. Discovery is made
 * slow on purpose by a module whose top level waits.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {  } from "../helpers/dev-process.js";
import { CLI } from "../helpers/processes.js";
import { findFreePort } from "../../src/common/ports.js";

async function freePort(): Promise<number> {
  return (await findFreePort("127.0.0.1")).port;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "flash-startup-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "startup", private: true, type: "module" }));
  writeFileSync(
    join(dir, "slow.ts"),
    `import { remote, CpuLiveServerless } from "flash-ts";
// Discovery imports this module: its top level keeps discovery busy for a while.
await new Promise((resolve) => setTimeout(resolve, 3000));
const cpu = new CpuLiveServerless({ name: "slow" });
export const hello = remote(cpu, async () => ({ hello: "world" }));
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("flash dev start-up", () => {
  it("answers GET / before discovery ends, and holds an early function call until the routes are there", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, "dev", "--no-container", "--local", "--port", String(port)], {
      cwd: dir,
      env: { ...process.env, FLASH_CONTAINER: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise((r) => child.once("exit", r));
    try {
      let root: Response | undefined;
      while (!root && child.exitCode === null) {
        root = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
        if (!root) await new Promise((r) => setTimeout(r, 20));
      }
      expect(root?.status).toBe(200);
      // Served while the slow module still holds discovery: no route table printed yet.
      expect(output).not.toMatch(/Press Ctrl\+C to stop/);
      const call = await fetch(`http://127.0.0.1:${port}/slow/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(call.status).toBe(200);
      expect(await call.json()).toMatchObject({ status: "COMPLETED", output: { hello: "world" } });
      expect(output).toMatch(/Press Ctrl\+C to stop/);
    } finally {
      child.kill("SIGINT");
      await exited;
    }
  }, 60_000);
});
