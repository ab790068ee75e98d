/**
 * `flash dev --inspect`: process workers get an inspector on the lowest free
 * port of a bounded range, and give it back when they exit.
 */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { EndpointStore } from "../../../src/emulator/endpoint-store.js";
import { InspectorPorts, isPortFree } from "../../../src/emulator/inspector-ports.js";
import { createPoolWorker } from "../../../src/emulator/pool-worker.js";
import type { LaunchOptions, WorkerExit, WorkerProcess } from "../../../src/emulator/worker-launcher.js";
import { spawnWorker } from "../../../src/emulator/worker-spawner.js";
import type { SpawnSettings } from "../../../src/emulator/worker-spawner.js";
import { createMemoryLogger } from "../../../src/common/logger.js";

describe("InspectorPorts", () => {
  it("takes the lowest port no worker holds and nothing listens on, and gives it back", async () => {
    const busy = new Set([9231]);
    const ports = new InspectorPorts({ host: "127.0.0.1", basePort: 9229, count: 4 }, async (_host, port) => !busy.has(port));
    expect(await ports.take()).toBe(9229);
    expect(await ports.take()).toBe(9230);
    expect(await ports.take()).toBe(9232); // 9231 is someone else's
    expect(await ports.take()).toBeUndefined(); // the range is bounded
    ports.release(9229);
    expect(await ports.take()).toBe(9229);
  });

  it("never gives one port to two workers starting at once", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const ports = new InspectorPorts({ host: "127.0.0.1", basePort: 9300, count: 3 }, async () => {
      await gate;
      return true;
    });
    const taken = Promise.all([ports.take(), ports.take(), ports.take()]);
    release();
    expect((await taken).sort()).toEqual([9300, 9301, 9302]);
  });

  it("probes for real: a listening port is not free", async () => {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
    try {
      expect(await isPortFree("127.0.0.1", port)).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await isPortFree("127.0.0.1", port)).toBe(true);
  });
});

describe("spawnWorker with an inspector", () => {
  class FakeProcess implements WorkerProcess {
    readonly pid = 4242;
    readonly exited: Promise<WorkerExit>;
    exit!: (exit: WorkerExit) => void;
    constructor(readonly options: LaunchOptions) {
      this.exited = new Promise((resolve) => (this.exit = resolve));
    }
    terminate(): Promise<WorkerExit> {
      this.exit({ code: 0, signal: null });
      return this.exited;
    }
    kill(): void {}
  }

  async function spawn(args: string, inspector: InspectorPorts): Promise<{ proc: FakeProcess | undefined; lines: string[] }> {
    const endpoints = new EndpointStore({ logger: createMemoryLogger() });
    const record = endpoints.create({ name: "ep", type: "QUEUE", scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, image: "img", args, workers: { min: 0, max: 1 } });
    let proc: FakeProcess | undefined;
    const lines: string[] = [];
    const settings: SpawnSettings = {
      baseUrl: () => "http://127.0.0.1:1",
      workerKey: "key",
      cwd: "/tmp",
      hostEnv: {},
      runtime: { execPath: "/usr/bin/node", cliEntry: "/cli.js" },
      launch: (options) => (proc = new FakeProcess(options)),
      inspector,
    };
    const worker = createPoolWorker({ id: "w1", endpointId: record.endpoint.id, kind: "launched", version: record.version, now: 0 });
    await spawnWorker(worker, record, settings, { stillWanted: () => true, onLine: (_s, line) => lines.push(line), onExit: () => {}, onHealth: () => {} });
    return { proc, lines };
  }

  it("starts a Node worker with --inspect on 127.0.0.1 first, and frees the port when it exits", async () => {
    const inspector = new InspectorPorts({ host: "127.0.0.1", basePort: 9400, count: 2 }, async () => true);
    const { proc } = await spawn("node -e 'bootstrap()'", inspector);
    expect(proc!.options.command.file).toBe("/usr/bin/node");
    expect(proc!.options.command.args).toEqual(["--inspect=127.0.0.1:9400", "-e", "bootstrap()"]);
    const local = await spawn("flash worker", inspector);
    expect(local.proc!.options.command.args).toEqual(["--inspect=127.0.0.1:9401", "/cli.js", "worker"]);
    proc!.exit({ code: 0, signal: null });
    await proc!.exited;
    await Promise.resolve();
    expect(await inspector.take()).toBe(9400);
  });

  it("says so when a worker cannot have one: a shell command, or no port left", async () => {
    const inspector = new InspectorPorts({ host: "127.0.0.1", basePort: 9500, count: 1 }, async () => true);
    const shell = await spawn("echo hi && sleep 1", inspector);
    expect(shell.proc!.options.command.file).toBe("/bin/sh");
    expect(shell.lines).toEqual(["this worker's start command runs through /bin/sh: it runs without an inspector"]);
    await spawn("node -e x", inspector);
    const full = await spawn("node -e y", inspector);
    expect(full.proc!.options.command.args).toEqual(["-e", "y"]);
    expect(full.lines).toEqual(["no inspector port free in 9500–9500: this worker runs without one"]);
  });
});
