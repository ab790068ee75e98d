/** The pure parts of the container module: engine discovery, the container spec, dependency plans, image hashing. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { parseDockerHost, resolveDockerEndpoints, isLocalEndpoint } from "../../../src/container/docker-endpoint.js";
import { createDevContainerSpec, displayUrl, projectIdentity, selectForwardedEnv } from "../../../src/container/dev-container-spec.js";
import { planDependencies, ensureDependencies, DEPS_STATE_FILE, isMountPoint } from "../../../src/container/workspace-deps.js";
import { collectDevImageContext, ensureDevImage } from "../../../src/container/dev-image.js";
import { detectDocker, isInsideContainer } from "../../../src/container/detect.js";
import { resolveContainerMode } from "../../../src/container/index.js";
import { resolvePublishAddress } from "../../../src/container/host-port.js";
import { LABELS } from "../../../src/container/labels.js";
import { AppError } from "../../../src/common/errors.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { FakeContainerRuntime } from "./fake-container-runtime.js";

describe("Docker endpoints", () => {
  it("honours DOCKER_HOST exactly, with no fallback", () => {
    const r = resolveDockerEndpoints({ env: { DOCKER_HOST: "unix:///nowhere.sock" }, exists: () => true });
    expect(r).toMatchObject({ explicit: true, source: "DOCKER_HOST", endpoints: [{ kind: "socket", path: "/nowhere.sock" }] });
  });

  it("parses tcp, https and ssh addresses", () => {
    expect(parseDockerHost("tcp://10.0.0.2:2375")).toMatchObject({ kind: "tcp", host: "10.0.0.2", port: 2375 });
    expect(parseDockerHost("tcp://h", { DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs" }, () => "PEM")).toMatchObject({
      kind: "tcp",
      port: 2376,
      tls: { ca: "PEM", cert: "PEM", key: "PEM" },
    });
    expect(parseDockerHost("ssh://me@box:2222")).toMatchObject({ kind: "ssh", host: "box", port: 2222, username: "me" });
    expect(() => parseDockerHost("ftp://x")).toThrow(AppError);
  });

  it("uses the current Docker context's endpoint", () => {
    const id = createHash("sha256").update("colima").digest("hex");
    const files: Record<string, string> = {
      "/home/u/.docker/config.json": JSON.stringify({ currentContext: "colima" }),
      [`/home/u/.docker/contexts/meta/${id}/meta.json`]: JSON.stringify({ Endpoints: { docker: { Host: "unix:///home/u/.colima/default/docker.sock" } } }),
    };
    const r = resolveDockerEndpoints({
      env: {},
      home: "/home/u",
      platform: "linux",
      exists: () => false,
      readFile: (p) => {
        const f = files[p];
        if (f === undefined) throw new Error("ENOENT");
        return f;
      },
    });
    expect(r).toMatchObject({ explicit: true, source: 'docker context "colima"', endpoints: [{ path: "/home/u/.colima/default/docker.sock" }] });
  });

  it("lists only default sockets that exist, and none when Docker is absent", () => {
    const present = resolveDockerEndpoints({ env: {}, home: "/h", platform: "linux", exists: (p) => p === "/h/.docker/run/docker.sock", readFile: () => "{}" });
    expect(present).toMatchObject({ explicit: false, endpoints: [{ path: "/h/.docker/run/docker.sock" }] });
    const none = resolveDockerEndpoints({ env: {}, home: "/h", platform: "linux", exists: () => false, readFile: () => "{}" });
    expect(none.endpoints).toEqual([]);
  });

  it("knows which engines are local", () => {
    expect(isLocalEndpoint(parseDockerHost("unix:///x.sock"))).toBe(true);
    expect(isLocalEndpoint(parseDockerHost("tcp://127.0.0.1:2375"))).toBe(true);
    expect(isLocalEndpoint(parseDockerHost("tcp://build-box:2375"))).toBe(false);
  });
});

describe("detectDocker and the container decision", () => {
  it("is available when a candidate answers, unreachable when an explicit one does not, absent with none", async () => {
    const ok = new FakeContainerRuntime();
    await expect(detectDocker({ DOCKER_HOST: "unix:///x.sock" }, { createRuntime: () => ok })).resolves.toMatchObject({ status: "available" });

    const down = new FakeContainerRuntime();
    down.pingError = new AppError("DOCKER_UNAVAILABLE", "The Docker engine at unix:///x.sock does not answer (ENOENT).");
    const unreachable = await detectDocker({ DOCKER_HOST: "unix:///x.sock" }, { createRuntime: () => down });
    expect(unreachable.status).toBe("unreachable");
    if (unreachable.status === "unreachable") {
      expect(unreachable.error.code).toBe("DOCKER_UNAVAILABLE");
      expect(unreachable.error.hint).toContain("DOCKER_HOST");
      expect(unreachable.error.isUserError).toBe(true);
    }

    const absent = await detectDocker({}, { probe: { exists: () => false, home: "/nowhere", platform: "linux", readFile: () => "{}" } });
    expect(absent.status).toBe("absent");
  });

  it("times out an engine that never answers", async () => {
    const hung = new FakeContainerRuntime();
    hung.ping = () => new Promise(() => {});
    const r = await detectDocker({ DOCKER_HOST: "tcp://127.0.0.1:9" }, { createRuntime: () => hung, timeoutMs: 20 });
    expect(r.status).toBe("unreachable");
  });

  it("detects being inside a container", () => {
    expect(isInsideContainer({ FLASH_IN_CONTAINER: "1" }, () => false)).toBe(true);
    expect(isInsideContainer({ FLASH_IN_CONTAINER: "0" }, () => true)).toBe(false);
    expect(isInsideContainer({}, (p) => p === "/.dockerenv")).toBe(true);
    expect(isInsideContainer({ CODESPACES: "true" }, () => false)).toBe(true);
    expect(isInsideContainer({}, () => false)).toBe(false);
  });

  it("lets the flag beat FLASH_CONTAINER, and never nests containers", () => {
    expect(resolveContainerMode(undefined, {}, false)).toBe("auto");
    expect(resolveContainerMode(undefined, { FLASH_CONTAINER: "0" }, false)).toBe("off");
    expect(resolveContainerMode(true, { FLASH_CONTAINER: "0" }, false)).toBe("on");
    expect(resolveContainerMode(false, { FLASH_CONTAINER: "1" }, false)).toBe("off");
    expect(resolveContainerMode(true, {}, true)).toBe("off");
  });
});

describe("the dev container spec", () => {
  const base = {
    projectRoot: "/home/me/My Project",
    image: "flash-dev:0.1.0",
    hostIp: "127.0.0.1",
    hostPort: 8888,
    publicUrl: "http://localhost:8888",
    devArgs: ["--auto-provision"],
    uid: 1001,
    gid: 1002,
    interactive: true,
    version: "0.1.0",
    owner: { host: "laptop", pid: 42 },
  };

  it("mounts the project, .runpod and a dependency volume, publishes on the host address, runs as the host user", () => {
    const spec = createDevContainerSpec({ ...base, env: { TERM: "xterm" } });
    const id = projectIdentity(base.projectRoot);
    expect(spec.name).toMatch(/^flash-dev-my-project-[0-9a-f]{8}$/);
    expect(spec.mounts).toEqual([
      { type: "bind", source: "/home/me/My Project", target: "/workspace" },
      { type: "bind", source: "/home/me/My Project/.runpod", target: "/workspace/.runpod" },
      { type: "volume", source: id.depsVolume, target: "/workspace/node_modules" },
    ]);
    expect(spec.ports).toEqual([{ containerPort: 8888, hostIp: "127.0.0.1", hostPort: 8888 }]);
    expect(spec.user).toBe("1001:1002");
    expect(spec.tty).toBe(true);
    expect(spec.openStdin).toBe(true);
    expect(spec.env).toMatchObject({ FLASH_IN_CONTAINER: "1", FLASH_PUBLIC_URL: "http://localhost:8888", TERM: "xterm" });
    expect(spec.labels).toMatchObject({ [LABELS.managed]: "true", [LABELS.project]: id.id, [LABELS.ownerPid]: "42" });
  });

  it("forwards Runpod settings and the key at run time, never host-only settings or npm's host paths", () => {
    const env = selectForwardedEnv({
      RUNPOD_API_KEY: "k",
      RUNPOD_API_BASE_URL: "u",
      FLASH_LOG_LEVEL: "debug",
      FLASH_HOST: "0.0.0.0",
      FLASH_PORT: "1",
      FLASH_DEV_IMAGE: "x",
      FLASH_CONTAINER: "1",
      npm_config_cache: "/home/me/.npm",
      npm_config_registry: "https://registry.example/",
      HOME: "/home/me",
      PATH: "/usr/bin",
      NODE_OPTIONS: "--require /home/me/x.js",
    });
    expect(env).toEqual({ RUNPOD_API_KEY: "k", RUNPOD_API_BASE_URL: "u", FLASH_LOG_LEVEL: "debug", npm_config_registry: "https://registry.example/" });
  });

  it("leaves values that came from .env to the server inside, which reads and reloads .env itself", () => {
    const spec = createDevContainerSpec({ ...base, env: { RUNPOD_API_KEY: "from-file", RUNPOD_API_BASE_URL: "shell" }, envFromFile: ["RUNPOD_API_KEY"] });
    expect(spec.env.RUNPOD_API_KEY).toBeUndefined();
    expect(spec.env.RUNPOD_API_BASE_URL).toBe("shell");
  });

  it("names one container per project path", () => {
    expect(projectIdentity("/a/app").containerName).not.toBe(projectIdentity("/b/app").containerName);
    expect(projectIdentity("/a/app")).toEqual(projectIdentity("/a/app"));
  });

  it("shows a URL people can open", async () => {
    expect(displayUrl("localhost", 8888)).toBe("http://localhost:8888");
    expect(displayUrl("0.0.0.0", 9000)).toBe("http://localhost:9000");
    expect(displayUrl("::1", 9000)).toBe("http://[::1]:9000");
    await expect(resolvePublishAddress("localhost")).resolves.toBe("127.0.0.1");
    await expect(resolvePublishAddress("0.0.0.0")).resolves.toBe("0.0.0.0");
  });
});

describe("the project's dependencies in the container", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "flash-deps-unit-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("installs with npm ci once per lockfile, again when it changes", async () => {
    expect(planDependencies(dir)).toBeUndefined();
    writeFileSync(join(dir, "package.json"), '{"name":"x"}');
    writeFileSync(join(dir, "package-lock.json"), '{"lockfileVersion":3}');
    mkdirSync(join(dir, "node_modules"));
    const runs: string[][] = [];
    const run = async (command: string[]): Promise<number> => {
      runs.push(command);
      return 0;
    };
    const logger = createMemoryLogger();
    await ensureDependencies({ projectDir: dir, logger, run });
    await ensureDependencies({ projectDir: dir, logger, run });
    expect(runs).toHaveLength(1);
    expect(runs[0]?.slice(0, 2)).toEqual(["npm", "ci"]);
    expect(planDependencies(dir)?.install).toBe(false);

    writeFileSync(join(dir, "package-lock.json"), '{"lockfileVersion":3,"changed":true}');
    expect(planDependencies(dir)).toMatchObject({ install: true, reason: "package-lock.json changed" });
    await ensureDependencies({ projectDir: dir, logger, run });
    expect(runs).toHaveLength(2);
  });

  it("uses npm install without a lockfile; a failed install is an error that stops the start, and is tried again next time", async () => {
    writeFileSync(join(dir, "package.json"), '{"name":"x"}');
    mkdirSync(join(dir, "node_modules"));
    expect(planDependencies(dir)?.command.slice(0, 2)).toEqual(["npm", "install"]);
    const logger = createMemoryLogger();
    const failed = await ensureDependencies({ projectDir: dir, logger, run: async () => 1 }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(AppError);
    expect(failed).toMatchObject({ code: "DEPENDENCY_INSTALL_FAILED", message: expect.stringMatching(/npm install exited with code 1/) as unknown });
    expect((failed as AppError).hint).toMatch(/inside the project/);
    expect(existsSync(join(dir, "node_modules", DEPS_STATE_FILE))).toBe(false);
    expect(planDependencies(dir)?.install).toBe(true);
  });

  it("records an install its caller has just run, without running it again", async () => {
    writeFileSync(join(dir, "package.json"), '{"name":"x"}');
    writeFileSync(join(dir, "package-lock.json"), '{"lockfileVersion":3}');
    mkdirSync(join(dir, "node_modules"));
    const runs: string[][] = [];
    const run = async (command: string[]): Promise<number> => (runs.push(command), 0);
    await expect(ensureDependencies({ projectDir: dir, logger: createMemoryLogger(), run, justInstalled: true })).resolves.toBe(false);
    expect(runs).toEqual([]);
    expect(planDependencies(dir)?.install).toBe(false);
  });

  it("recognises mount points", () => {
    expect(isMountPoint("/")).toBe(true);
    expect(isMountPoint(dir)).toBe(false);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error("condition not met within 5 s");
}

describe("the dev image", () => {
  let pkg: string;
  beforeEach(() => {
    pkg = mkdtempSync(join(tmpdir(), "flash-image-unit-"));
    writeFileSync(join(pkg, "Dockerfile"), "FROM scratch\n");
    writeFileSync(join(pkg, "package.json"), '{"name":"flash-ts","version":"0.0.1"}');
    mkdirSync(join(pkg, "dist", "cli"), { recursive: true });
    writeFileSync(join(pkg, "dist", "cli", "index.js"), "// cli\n");
    mkdirSync(join(pkg, "src"));
    writeFileSync(join(pkg, "src", "x.ts"), "");
  });
  afterEach(() => rmSync(pkg, { recursive: true, force: true }));

  it("hashes exactly what it sends: package files and dist/, never src/", () => {
    const a = collectDevImageContext(pkg, { BASE_IMAGE: "node:24-bookworm-slim" });
    expect(a.files).toEqual(["Dockerfile", "dist/cli/index.js", "package.json"]);
    expect(collectDevImageContext(pkg, { BASE_IMAGE: "node:24-bookworm-slim" }).hash).toBe(a.hash);
    expect(collectDevImageContext(pkg, { BASE_IMAGE: "mirror/node:24" }).hash).not.toBe(a.hash);
    writeFileSync(join(pkg, "src", "x.ts"), "changed");
    expect(collectDevImageContext(pkg, { BASE_IMAGE: "node:24-bookworm-slim" }).hash).toBe(a.hash);
    writeFileSync(join(pkg, "dist", "cli", "index.js"), "// changed\n");
    expect(collectDevImageContext(pkg, { BASE_IMAGE: "node:24-bookworm-slim" }).hash).not.toBe(a.hash);
  });

  it("remembers the hash between starts, and hashes again when a file is written", async () => {
    const cache = mkdtempSync(join(tmpdir(), "flash-image-cache-"));
    try {
      const a = collectDevImageContext(pkg, { BASE_IMAGE: "node:24-bookworm-slim" }, cache);
      await waitFor(() => readdirSync(cache).length === 1);
      // Same metadata: the cached hash is used (proved by poisoning it).
      const [file] = readdirSync(cache);
      writeFileSync(join(cache, file!), readFileSync(join(cache, file!), "utf8").replace(a.hash, "0123456789abcdef"));
      expect(collectDevImageContext(pkg, { BASE_IMAGE: "node:24-bookworm-slim" }, cache).hash).toBe("0123456789abcdef");
      // A file replaced (as npm and editors do) changes the fingerprint, even with the same size and content: hashed again.
      writeFileSync(join(pkg, "dist", "cli", "index.js.new"), "// cli\n");
      renameSync(join(pkg, "dist", "cli", "index.js.new"), join(pkg, "dist", "cli", "index.js"));
      expect(collectDevImageContext(pkg, { BASE_IMAGE: "node:24-bookworm-slim" }, cache).hash).toBe(a.hash);
      expect(collectDevImageContext(pkg, { BASE_IMAGE: "mirror/node:24" }, cache).hash).not.toBe(a.hash);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("builds when missing or outdated, reuses otherwise, and removes the replaced build", async () => {
    const runtime = new FakeContainerRuntime();
    const logger = createMemoryLogger();
    const first = await ensureDevImage({ runtime, logger, packageRoot: pkg, version: "0.0.1" });
    expect(first).toMatchObject({ ref: "flash-dev:0.0.1", built: true });
    expect(runtime.builds[0]?.labels[LABELS.contextHash]).toBeDefined();
    expect(runtime.builds[0]?.buildArgs).toEqual({ BASE_IMAGE: "node:24-bookworm-slim", FLASH_BUILD_ID: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(await ensureDevImage({ runtime, logger, packageRoot: pkg, version: "0.0.1" })).toMatchObject({ built: false });
    cpSync(join(pkg, "package.json"), join(pkg, "dist", "extra.json"));
    expect(await ensureDevImage({ runtime, logger, packageRoot: pkg, version: "0.0.1" })).toMatchObject({ built: true });
    expect(runtime.calls).toContain(`removeImage ${first.id}`);
    expect(logger.lines.some((l) => l.includes("Step 1/1"))).toBe(true);
  });

  it("uses a chosen image as is, and says clearly when it cannot be had", async () => {
    const runtime = new FakeContainerRuntime();
    runtime.images.set("mine:1", { id: "sha256:m", labels: {} });
    const logger = createMemoryLogger();
    await expect(ensureDevImage({ runtime, logger, packageRoot: pkg, version: "0.0.1", image: "mine:1" })).resolves.toMatchObject({ ref: "mine:1", built: false });
    await expect(ensureDevImage({ runtime, logger, packageRoot: pkg, version: "0.0.1", image: "missing:1" })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(runtime.builds).toHaveLength(0);
  });
});

describe("dependencies of a project without any", () => {
  it("records the install even when npm made no node_modules", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flash-deps-none-"));
    try {
      writeFileSync(join(dir, "package.json"), '{"name":"x"}');
      await expect(ensureDependencies({ projectDir: dir, logger: createMemoryLogger(), run: async () => 0 })).resolves.toBe(true);
      expect(planDependencies(dir)?.install).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
