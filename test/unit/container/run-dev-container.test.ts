/** runDevContainer's lifecycle against the fake runtime: no Docker needed. */
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runDevContainer, type RunDevContainerOptions } from "../../../src/container/run-dev-container.js";
import { LABELS } from "../../../src/container/labels.js";
import { projectIdentity } from "../../../src/container/dev-container-spec.js";
import { AppError } from "../../../src/common/errors.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { waitFor } from "../../helpers/wait.js";
import { FakeContainerRuntime } from "./fake-container-runtime.js";

type ShutdownHandler = (signal: NodeJS.Signals, force: boolean) => void;

describe("runDevContainer (fake runtime)", () => {
  let project: string;
  let runtime: FakeContainerRuntime;
  let handlers: ShutdownHandler[];
  let stdout: PassThrough;

  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), "flash-run-unit-"));
    runtime = new FakeContainerRuntime();
    runtime.images.set("flash-dev:test", { id: "sha256:img", labels: {} });
    handlers = [];
    stdout = new PassThrough();
    stdout.resume();
  });
  afterEach(() => rmSync(project, { recursive: true, force: true }));

  const options = (extra: Partial<RunDevContainerOptions> = {}): RunDevContainerOptions => ({
    projectRoot: project,
    host: "localhost",
    port: 0,
    image: "flash-dev:test",
    devArgs: ["--local"],
    env: { RUNPOD_API_KEY: "rp_secret_key_value", FLASH_PORT: "9999", PATH: "/usr/bin" },
    logger: createMemoryLogger(),
    stdout,
    stderr: stdout,
    onShutdown: (h) => void handlers.push(h),
    runtime,
    engineIsLocal: false,
    interactive: false,
    ...extra,
  });

  /** Resolves with the id of the first container once it is running. */
  async function running(except?: string): Promise<string> {
    return waitFor("a running container", () => [...runtime.containers.values()].find((x) => x.state === "running" && x.id !== except)?.id, 5000, 5);
  }

  it("creates one labelled container for the project, passes the exit code through and removes it", async () => {
    const done = runDevContainer(options());
    const id = await running();
    const spec = runtime.containers.get(id)!.spec;
    expect(spec.name).toBe(projectIdentity(project).containerName);
    expect(spec.labels[LABELS.project]).toBe(projectIdentity(project).id);
    expect(spec.labels[LABELS.ownerPid]).toBe(String(process.pid));
    expect(spec.command).toEqual(["flash", "dev", "--host", "0.0.0.0", "--port", "8888", "--local"]);
    expect(spec.env.RUNPOD_API_KEY).toBe("rp_secret_key_value");
    expect(spec.env.FLASH_PORT).toBeUndefined();
    expect(spec.env.PATH).toBeUndefined();
    expect(spec.ports).toEqual([{ containerPort: 8888, hostIp: "127.0.0.1", hostPort: 0 }]);
    runtime.exit(id, 3);
    await expect(done).resolves.toBe(3);
    expect(runtime.containers.size).toBe(0);
    expect(existsSync(join(project, ".runpod"))).toBe(true);
    expect(runtime.volumes.has(projectIdentity(project).depsVolume)).toBe(true);
  });

  it("stops gracefully on the first signal and kills on the second", async () => {
    runtime.onSignal = (c, signal) => {
      if (signal === "SIGKILL") runtime.exit(c.id, 137);
    };
    const clock = new FakeClock();
    const done = runDevContainer(options({ clock }));
    await running();
    for (const h of handlers) h("SIGINT", false);
    // The grace period has started and has not run out: only SIGINT was sent.
    await clock.sleepingFor(10_000);
    await clock.advance(9_999);
    expect(runtime.signals.map((s) => s.signal)).toEqual(["SIGINT"]);
    for (const h of handlers) h("SIGINT", true);
    await expect(done).resolves.toBe(137);
    expect(runtime.signals.map((s) => s.signal)).toEqual(["SIGINT", "SIGKILL"]);
    expect(runtime.containers.size).toBe(0);
  });

  it("forwards SIGTERM as SIGTERM and escalates to SIGKILL after the grace period", async () => {
    runtime.onSignal = (c, signal) => {
      if (signal === "SIGKILL") runtime.exit(c.id, 137);
    };
    const clock = new FakeClock();
    const done = runDevContainer(options({ gracefulTimeoutMs: 5000, clock }));
    await running();
    for (const h of handlers) h("SIGTERM", false);
    await clock.sleepingFor(5000);
    await clock.advance(4999);
    expect(runtime.signals.map((s) => s.signal)).toEqual(["SIGTERM"]);
    await clock.advance(1);
    await expect(done).resolves.toBe(137);
    expect(runtime.signals.map((s) => s.signal)).toEqual(["SIGTERM", "SIGKILL"]);
  });

  it("replaces a container left by a CLI that is gone", async () => {
    const identity = projectIdentity(project);
    const staleId = runtime.addContainer({
      name: identity.containerName,
      image: "flash-dev:test",
      command: [],
      env: {},
      labels: { ...identity.labels, [LABELS.ownerHost]: "elsewhere", [LABELS.ownerPid]: "1" },
      mounts: [],
      ports: [],
      workingDir: "/workspace",
      tty: false,
      openStdin: false,
    });
    const done = runDevContainer(options());
    const id = await running(staleId);
    expect(runtime.containers.has(staleId)).toBe(false);
    runtime.exit(id, 0);
    await expect(done).resolves.toBe(0);
  });

  it("refuses to start beside a live session of the same project on this machine", async () => {
    const identity = projectIdentity(project);
    const { hostname } = await import("node:os");
    runtime.addContainer({
      name: identity.containerName,
      image: "flash-dev:test",
      command: [],
      env: {},
      // The test runner's parent is alive: it stands for another live CLI.
      labels: { ...identity.labels, [LABELS.ownerHost]: hostname(), [LABELS.ownerPid]: String(process.ppid) },
      mounts: [],
      ports: [],
      workingDir: "/workspace",
      tty: false,
      openStdin: false,
    });
    await expect(runDevContainer(options())).rejects.toMatchObject({ code: "CONFLICT" });
  });

  describe("port checks", () => {
    let server: Server;
    let port: number;
    beforeEach(async () => {
      server = createServer();
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as { port: number }).port;
    });
    afterEach(() => new Promise<void>((r) => server.close(() => r())));

    it("reports a taken port before creating anything", async () => {
      const error = (await runDevContainer(options({ port, engineIsLocal: true })).catch((e: unknown) => e)) as AppError;
      expect(error.code).toBe("PORT_IN_USE");
      expect(error.message).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(runtime.calls.some((c) => c.startsWith("create"))).toBe(false);
    });

    it("reports the engine's port error the same way and removes the container", async () => {
      runtime.startError = new AppError("PORT_IN_USE", "engine: port is already allocated");
      const error = (await runDevContainer(options({ port: port + 1 })).catch((e: unknown) => e)) as AppError;
      expect(error.code).toBe("PORT_IN_USE");
      expect(error.message).toContain(`Port ${port + 1} on 127.0.0.1`);
      expect(runtime.containers.size).toBe(0);
    });
  });

  it("cancels the start when asked to stop before the container exists", async () => {
    const opts = options();
    const done = runDevContainer({
      ...opts,
      onShutdown: (h) => {
        opts.onShutdown(h);
        h("SIGINT", false);
      },
    });
    await expect(done).resolves.toBe(130);
    expect(runtime.calls.some((c) => c.startsWith("create"))).toBe(false);
  });
});
