/**
 * `flash dev` on the host: build or reuse the dev image, replace a container a
 * killed CLI left behind, create this project's container, stream its output,
 * forward stdin/TTY, and on Ctrl-C/SIGTERM stop the server inside gracefully
 * (a second Ctrl-C kills it) and remove the container. Returns the exit code
 * of the server inside.
 */
import { chownSync, existsSync, mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { Transform, type Readable } from "node:stream";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { AppError, hasCode } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { isProcessAlive } from "../common/process-alive.js";
import { PACKAGE_ROOT, readPackageVersion } from "../common/package-info.js";
import type { AttachHandle, ContainerRuntime } from "./container-runtime.js";
import { detectDocker } from "./detect.js";
import { isLocalEndpoint } from "./docker-endpoint.js";
import { createDevContainerSpec, displayUrl, projectIdentity } from "./dev-container-spec.js";
import { ensureDevImage, userCacheDir } from "./dev-image.js";
import { checkPortFree, portInUseError, resolvePublishAddress } from "./host-port.js";
import { findOutsideDependencies, outsideDependencyMounts } from "./local-dependencies.js";
import { LABELS } from "./labels.js";

/** A writable stream we print the container's output to (process.stdout / process.stderr). */
export type OutputStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
/** The input forwarded to the container (process.stdin). */
export type InputStream = Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };

export interface RunDevContainerOptions {
  /** The project folder (absolute, or relative to the cwd). */
  projectRoot: string;
  /** Host-side address to publish on (`--host` / FLASH_HOST); default localhost. */
  host: string;
  /** Host-side port (`--port` / FLASH_PORT); default 8888. */
  port: number;
  /** A prebuilt image to use instead of building one (`--image` / FLASH_DEV_IMAGE). */
  image?: string;
  /** Flags forwarded to `flash dev` inside (e.g. `--local`, `--auto-provision`, `--no-reload`). */
  devArgs: string[];
  /** The host environment: Runpod settings and the key are forwarded at run time, never built in. */
  env: NodeJS.ProcessEnv;
  /** Keys of `env` that were loaded from the project's .env (not forwarded: the server inside reads .env itself). */
  envFromFile?: Iterable<string>;
  /** A `.env` above the project (host path): mounted read-only for the server inside, which reads and watches it. */
  outerEnvFile?: string;
  logger: Logger;
  stdin?: InputStream;
  stdout: OutputStream;
  stderr: OutputStream;
  /** Registers the handler the CLI calls on SIGINT/SIGTERM (`force` on the second). */
  onShutdown: (handler: (signal: NodeJS.Signals, force: boolean) => void) => void;
  /** Forward stdin and allocate a TTY; default: stdin and stdout are terminals. */
  interactive?: boolean;
  /** The engine; default: the one `detectDocker(env)` finds. */
  runtime?: ContainerRuntime;
  /** False when the engine is remote (no port pre-check, no readiness probe). Default: from detection, or true. */
  engineIsLocal?: boolean;
  /** Replaces `flash dev …` inside (tests, custom servers). */
  command?: string[];
  /** The uid:gid the container runs as; default the host user's (so files it writes stay theirs). */
  user?: { uid: number; gid: number };
  /** The flash-ts package the image is built from; default this one. */
  packageRoot?: string;
  /** How long the server may take to stop after the first signal before it is killed. Default 10 s. */
  gracefulTimeoutMs?: number;
  /** Time for that grace period (tests drive a fake one). */
  clock?: Clock;
  /** Called once the server answers on the published port. */
  onReady?: (url: string) => void;
}

/** Runs `flash dev` in this project's dev container until it exits; returns its exit code. */
export async function runDevContainer(options: RunDevContainerOptions): Promise<number> {
  const logger = options.logger;
  const projectRoot = resolvePath(options.projectRoot);
  const started = Date.now();

  // Shutdown can be asked for at any point; before the container exists it just cancels the start.
  // Set once the container exists (read by the shutdown handler).
  const current: { containerId?: string } = {};
  let stopRequested: NodeJS.Signals | undefined;
  // Aborted when the container is gone: cancels the kill timer, and a late signal then does nothing.
  const finished = new AbortController();
  let runtime: ContainerRuntime | undefined;
  const gracefulMs = options.gracefulTimeoutMs ?? 10_000;
  const clock = options.clock ?? systemClock;
  // Whether the graceful stop has reached the container (a signal that came
  // before the container existed is delivered once it does).
  let delivered = false;
  const requestStop = (signal: NodeJS.Signals, force: boolean): void => {
    stopRequested ??= signal;
    const id = current.containerId;
    if (!id || !runtime || finished.signal.aborted) return;
    const rt = runtime;
    if (force) {
      logger.warn("Killing the dev container…");
      void rt.signalContainer(id, "SIGKILL").catch(() => {});
      return;
    }
    if (delivered) return;
    delivered = true;
    logger.info("Stopping the dev server… (Ctrl-C again to force)");
    void rt.signalContainer(id, signal === "SIGTERM" ? "SIGTERM" : "SIGINT").catch(() => {});
    clock.sleep(gracefulMs, finished.signal).then(
      () => {
        logger.warn(`The dev server did not stop within ${gracefulMs / 1000} s; killing it.`);
        void rt.signalContainer(id, "SIGKILL").catch(() => {});
      },
      () => undefined, // the container is gone
    );
  };
  options.onShutdown(requestStop);

  let engineIsLocal = options.engineIsLocal ?? true;
  if (options.runtime) {
    runtime = options.runtime;
  } else {
    const detection = await detectDocker(options.env);
    if (detection.status === "unreachable") throw detection.error;
    if (detection.status === "absent") {
      throw new AppError("DOCKER_UNAVAILABLE", `No Docker engine found: ${detection.reason}.`, {
        hint: "Install or start Docker, set DOCKER_HOST, or pass --no-container to serve without Docker.",
      });
    }
    runtime = detection.runtime;
    engineIsLocal = options.engineIsLocal ?? isLocalEndpoint(detection.endpoint);
    logger.debug(`Docker ${detection.engine.version} (${detection.engine.os}) at ${detection.endpoint.url}`);
  }
  const rt = runtime;
  const version = readPackageVersion();
  const cancelled = (): number | undefined => {
    if (!stopRequested) return undefined;
    logger.info("Start cancelled.");
    return 130;
  };

  const identity = projectIdentity(projectRoot);
  // Dependencies named by a path outside the project (the README's install path for flash-ts): mounted where npm inside looks.
  const outside = findOutsideDependencies(projectRoot);
  const extraMounts = outsideDependencyMounts(outside);
  for (const dep of outside) logger.debug(`${dep.spec} is outside the project: mounted read-only at ${dep.containerPath} for npm inside.`);
  // Created by us, as the user: otherwise the engine creates these mount points as root in the user's project.
  const user = hostUser(options.user);
  for (const dir of [".runpod", "node_modules"]) {
    const path = join(projectRoot, dir);
    if (existsSync(path)) continue;
    mkdirSync(path, { recursive: true });
    // Running as root for another user (tests, sudo): the folder is theirs, like the files the container writes.
    if (user.uid !== undefined && user.gid !== undefined && process.getuid?.() === 0) chownSync(path, user.uid, user.gid);
  }

  // Independent steps run together: they are engine round trips, and start-up time is what people wait for.
  const [image, hostIp] = await Promise.all([
    ensureDevImage({
      runtime: rt,
      logger,
      packageRoot: options.packageRoot ?? PACKAGE_ROOT,
      version,
      cacheDir: userCacheDir(options.env),
      ...(options.env.FLASH_BASE_IMAGE ? { baseImage: options.env.FLASH_BASE_IMAGE } : {}),
      ...(options.image ? { image: options.image } : {}),
    }),
    (async () => {
      // A stale container of this project may hold the port: remove it before checking.
      await replaceStaleContainers(rt, identity.labels, logger);
      const address = await resolvePublishAddress(options.host);
      if (engineIsLocal) await checkPortFree(address, options.port);
      return address;
    })(),
    rt.ensureVolume(identity.depsVolume, { ...identity.labels, [LABELS.role]: "deps-volume", [LABELS.projectPath]: projectRoot }),
  ]);
  if (cancelled() !== undefined) return 130;
  const url = displayUrl(options.host === "localhost" ? "localhost" : hostIp, options.port);

  const interactive = options.interactive ?? (options.stdin?.isTTY === true && options.stdout.isTTY === true);
  const spec = createDevContainerSpec({
    projectRoot,
    image: image.ref,
    hostIp,
    hostPort: options.port,
    publicUrl: url,
    devArgs: options.devArgs,
    env: options.env,
    ...(options.envFromFile ? { envFromFile: options.envFromFile } : {}),
    ...(options.outerEnvFile ? { outerEnvFile: options.outerEnvFile } : {}),
    ...user,
    interactive,
    version,
    owner: { host: hostname(), pid: process.pid },
    ...(options.command ? { command: options.command } : {}),
    extraMounts,
  });
  if (cancelled() !== undefined) return 130;

  const id = await rt.createContainer(spec);
  current.containerId = id;
  const short = id.slice(0, 12);
  let attachHandle: AttachHandle | undefined;
  const restoreTerminal = setUpTerminal(options, interactive, (signal) => requestStop(signal, stopRequested !== undefined));
  try {
    attachHandle = await rt.attach(id, {
      ...(interactive && restoreTerminal.input ? { stdin: restoreTerminal.input } : {}),
      stdout: options.stdout,
      stderr: options.stderr,
      tty: interactive,
    });
    try {
      await rt.startContainer(id);
    } catch (error) {
      if (hasCode(error, "PORT_IN_USE")) throw portInUseError(hostIp, options.port, error);
      throw error;
    }
    logger.info(`Dev container ${spec.name} (${short}) started from ${image.ref}; serving ${url}`);
    if (interactive) {
      const resize = (): void => void rt.resizeTty(id, { rows: options.stdout.rows ?? 24, columns: options.stdout.columns ?? 80 });
      resize();
      options.stdout.on?.("resize", resize);
      restoreTerminal.onRestore(() => options.stdout.removeListener?.("resize", resize));
    }
    // If a signal arrived between create and start, deliver it now.
    if (stopRequested) requestStop(stopRequested, false);

    const exited = rt.waitContainer(id);
    let done = false;
    void exited.finally(() => (done = true)).catch(() => {});
    if (engineIsLocal) {
      void waitUntilServing(url.replace("localhost", "127.0.0.1").replace("[::]", "[::1]"), () => done || stopRequested !== undefined).then((ok) => {
        if (!ok) return;
        logger.info(`Ready at ${url} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
        options.onReady?.(url);
      });
    }
    const code = await exited;
    // Let the last lines of output arrive before the container goes.
    await Promise.race([attachHandle.ended, new Promise((r) => setTimeout(r, 2000).unref())]);
    if (stopRequested) logger.info(`Dev container stopped (exit code ${code}).`);
    else if (code !== 0) logger.error(`The dev server in ${spec.name} exited with code ${code}.`);
    return code;
  } finally {
    finished.abort();
    attachHandle?.detach();
    restoreTerminal.restore();
    await rt.removeContainer(id).catch((error: unknown) => {
      logger.warn(`Could not remove the dev container ${short}: ${String(error)}. Remove it with: docker rm -f ${short}`);
    });
  }
}

/**
 * Removes this project's containers left by a CLI that is gone (killed, or
 * its machine restarted). A container whose CLI still runs on this machine is
 * a live session: starting a second one would fight over the port and state.
 */
async function replaceStaleContainers(runtime: ContainerRuntime, labels: Record<string, string>, logger: Logger): Promise<void> {
  const existing = await runtime.listContainers(labels);
  for (const container of existing) {
    const ownerPid = Number(container.labels[LABELS.ownerPid]);
    const sameHost = container.labels[LABELS.ownerHost] === hostname();
    if (container.state === "running" && sameHost && ownerPid > 0 && ownerPid !== process.pid && isProcessAlive(ownerPid)) {
      throw new AppError("CONFLICT", `flash dev is already running for this project (pid ${ownerPid}, container ${container.name}).`, {
        hint: "Stop that one first (Ctrl-C in its terminal), or use it: it serves the same project.",
      });
    }
    logger.info(`Removing the dev container ${container.name} left by an earlier flash dev (pid ${ownerPid || "?"}, no longer running).`);
    await runtime.removeContainer(container.id);
  }
}

/** The user the container runs as: given, or this process's (none on Windows, where the image's user is kept). */
function hostUser(user: { uid: number; gid: number } | undefined): { uid?: number; gid?: number } {
  if (user) return user;
  if (typeof process.getuid === "function" && typeof process.getgid === "function") return { uid: process.getuid(), gid: process.getgid() };
  return {};
}

interface TerminalSetup {
  /** What to forward to the container's stdin (Ctrl-C removed), when interactive. */
  input: Readable | undefined;
  onRestore(fn: () => void): void;
  /** Puts the terminal back; idempotent. */
  restore(): void;
}

/**
 * In a terminal the host goes raw (like `docker run -it`) so keys reach the
 * prompt inside unchanged — except Ctrl-C, which we keep: it means "stop" and
 * follows the same path as SIGINT (graceful, then forced), so the container is
 * always removed by us.
 */
function setUpTerminal(options: RunDevContainerOptions, interactive: boolean, onInterrupt: (signal: NodeJS.Signals) => void): TerminalSetup {
  const cleanups: (() => void)[] = [];
  let restored = false;
  const setup: TerminalSetup = {
    input: undefined,
    onRestore: (fn) => void cleanups.push(fn),
    restore: () => {
      if (restored) return;
      restored = true;
      for (const fn of cleanups.reverse()) fn();
    },
  };
  const stdin = options.stdin;
  if (!interactive || !stdin) return setup;
  if (stdin.isTTY && stdin.setRawMode) {
    stdin.setRawMode(true);
    cleanups.push(() => stdin.setRawMode?.(false));
  }
  const filter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (chunk.includes(0x03)) {
        onInterrupt("SIGINT");
        const rest = Buffer.from(chunk.filter((b) => b !== 0x03));
        callback(null, rest.length > 0 ? rest : undefined);
        return;
      }
      callback(null, chunk);
    },
  });
  stdin.pipe(filter);
  cleanups.push(() => {
    stdin.unpipe(filter);
    filter.destroy();
    // Let the process exit: a paused stdin holds no handle.
    stdin.pause();
  });
  setup.input = filter;
  return setup;
}

/** Polls the server until it answers (true) or `giveUp()` says to stop (false). Bounded at 5 minutes. */
async function waitUntilServing(url: string, giveUp: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline && !giveUp()) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.status < 500) return true;
    } catch {
      // Not listening yet (the engine's proxy resets the connection): try again.
    }
    await new Promise((r) => setTimeout(r, 100).unref());
  }
  return false;
}
