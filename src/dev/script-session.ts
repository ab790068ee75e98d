/**
 * `flash run script.ts`: runs a script whose calls of remote functions go to
 * their endpoints through the same function runtime as `flash dev` (backend,
 * provisioning, `.runpod/` cache, console), with no server and no watcher
 * (docs/internals.md, "Calls from a script").
 *
 * The script runs in a Node process of its own, started from its bundle
 * (discovery/script-bundle.ts) with script-child.ts loaded first. That process
 * ends as Node ends any script, when its top-level code has settled and
 * nothing of its own keeps it alive, and its exit code is the run's. Its
 * remote calls come here over a channel (script-channel.ts) and run on the
 * generation's bundle of the function's file, the module `flash dev` would
 * send. When it has exited, the runtime closes: calls still in flight are
 * cancelled, and the embedded emulator stops with its workers.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { constants } from "node:os";
import { join, relative, resolve } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import type { Duplex, Readable, Writable } from "node:stream";
import { buildScriptBundle } from "../discovery/script-bundle.js";
import type { DiscoveryIssue, Manifest } from "../discovery/manifest.js";
import { isOutside } from "../discovery/ignore-rules.js";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import { AppError, toAppError } from "../common/errors.js";
import { isRecord } from "../common/is-record.js";
import type { Logger } from "../common/logger.js";
import { isProcessAlive } from "../common/process-alive.js";
import { decodeValue, encodeValue } from "../common/value-codec.js";
import type { JsonValue } from "../common/value-codec.js";
import type { FunctionTarget } from "../common/function-protocol.js";
import type { ResourceSpec } from "../sdk/resources.js";
import { createDiscovery } from "../discovery/index.js";
import type { Discovery, DiscoveryOptions } from "../discovery/index.js";
import { startBackend } from "./backend.js";
import type { Backend, BackendOptions } from "./backend.js";
import { renderConsole } from "./console-renderer.js";
import type { SessionRenderer } from "./console-renderer.js";
import type { BackendChoice } from "./dev-options.js";
import { findConfigConflicts, startFunctionRuntime } from "./function-runtime.js";
import type { FunctionRuntime } from "./function-runtime.js";
import { CHANNEL_FD, MessageTooLargeError, openChannel, SCRIPT_PATH_ENV } from "./script-channel.js";
import type { CallMessage, ErrorShape, MessageChannel, ResultMessage } from "./script-channel.js";
import { DevSessionEmitter } from "./session-events.js";

export interface ScriptRunOptions {
  projectRoot: string;
  /** The script (absolute, or relative to `cwd`). */
  script: string;
  /** Its arguments (`process.argv.slice(2)` in the script). */
  args: readonly string[];
  /** The folder the script runs in. */
  cwd: string;
  backend: BackendChoice;
  /** Why this backend, for the banner. */
  backendReason: string;
  /** The environment (with `.env` applied); the script gets it too. */
  env: NodeJS.ProcessEnv;
  logger: Logger;
}

/** The outside parts, real by default (tests replace the backend or the console). */
export interface ScriptRunParts {
  clock: Clock;
  startBackend(options: BackendOptions): Promise<Backend>;
  createDiscovery(options: DiscoveryOptions): Discovery;
  print(text: string): void;
  render: SessionRenderer;
  events: DevSessionEmitter;
}

export interface ScriptRun {
  /** The script's process id. */
  readonly pid: number | undefined;
  /** Resolves with the run's exit code once the script has exited and everything is closed. */
  readonly exitCode: Promise<number>;
  /**
   * Ctrl-C: the script gets `signal` (SIGKILL when `force`) and calls in
   * flight are cancelled. The exit code stays the script's: 128 + the
   * signal's number when the signal ended it, as a shell reports it.
   */
  interrupt(signal: NodeJS.Signals, force?: boolean): void;
}

/** Calls of one script in flight at once; more are refused (the script sees RATE_LIMITED). */
export const MAX_SCRIPT_CALLS = 512;
/** The script process's module loaded before the script (compiled next to this file). */
const CHILD_MODULE = pathToFileURL(fileURLToPath(new URL("./script-child.js", import.meta.url))).href;
const RUN_DIR_PREFIX = "run-";

const GUARD_HINT =
  "flash-ts sends this file to the endpoint's worker, which loads it, so its top-level code runs there too. " +
  "Put the code that calls remote functions under `if (import.meta.main) { … }` (TypeScript's `if __name__ == \"__main__\":`).";

/** The script's own folder for bundles: per process, so runs and `flash dev` never collect each other's files. */
async function prepareRunDir(root: string): Promise<string> {
  const cache = join(root, "node_modules", ".cache", "flash-ts");
  await mkdir(cache, { recursive: true });
  // Folders left by runs that were killed: their process is gone.
  for (const name of await readdir(cache).catch(() => [] as string[])) {
    const pid = name.startsWith(RUN_DIR_PREFIX) ? Number(name.slice(RUN_DIR_PREFIX.length)) : NaN;
    if (Number.isInteger(pid) && pid !== process.pid && !isProcessAlive(pid)) await rm(join(cache, name), { recursive: true, force: true });
  }
  const dir = join(cache, `${RUN_DIR_PREFIX}${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Checks the script's path: it exists, is a file, and is inside the project. */
async function checkScript(options: ScriptRunOptions): Promise<{ path: string; rel: string }> {
  const path = resolve(options.cwd, options.script);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new AppError("INVALID_INPUT", `${options.script}: no such file`, { hint: `The path is taken from ${options.cwd}.` });
  if (!info.isFile()) throw new AppError("INVALID_INPUT", `${options.script} is not a file`);
  const rel = relative(options.projectRoot, path).split("\\").join("/");
  if (isOutside(rel)) {
    throw new AppError("INVALID_INPUT", `${options.script} is outside the project folder ${options.projectRoot}`, {
      hint: "Run flash run from the project folder, or name it with --cwd <dir>.",
    });
  }
  return { path, rel };
}

/** Why a called file has no bundle in the generation: its load issue, or it is not discovered. */
function missingModule(target: FunctionTarget, manifest: Manifest, scriptRel: string): AppError {
  const name = `${target.file}#${target.export}${target.method ? `.${target.method}` : ""}`;
  const issue = manifest.issues.find((i) => i.file === target.file && i.severity !== "warning");
  if (issue) {
    return new AppError("FUNCTION_LOAD_FAILED", `cannot call ${name}: ${target.file} does not load on its own, as the endpoint's worker loads it: ${issue.message}`, {
      hint: target.file === scriptRel ? GUARD_HINT : (issue.hint ?? `Fix ${target.file}; its problem is printed above.`),
    });
  }
  return new AppError("FUNCTION_LOAD_FAILED", `cannot call ${name}: ${target.file} is not among the files flash-ts sends to endpoints`, {
    hint: "Test files and folders (test/, *.test.ts), hidden folders, node_modules, dist and build, and files .gitignore or .flashignore ignore are not; define remote functions in another file, or re-include it in .flashignore (!path).",
  });
}

/**
 * The answer for an error: code, message, name, details encoded (they may hold
 * any thrown value), and the stack when it is the function's own (a failed
 * function's error carries the remote one): flash-ts's frames in this process
 * mean nothing to the script, whose call site ends the stack it sees.
 */
function errorShape(error: unknown): ErrorShape {
  const e = toAppError(error);
  const remoteStack = typeof e.details?.stack === "string" ? e.stack : undefined;
  let details: JsonValue | undefined;
  try {
    details = e.details === undefined ? undefined : encodeValue(e.details, "details");
  } catch {
    details = undefined;
  }
  return { code: e.code, message: e.message, name: e.name, ...(e.hint ? { hint: e.hint } : {}), ...(remoteStack ? { stack: remoteStack } : {}), ...(details !== undefined ? { details } : {}) };
}

/** A call message from the script, checked (the channel is ours, but a script could write to it). */
function readCall(value: unknown): CallMessage | undefined {
  if (!isRecord(value) || value.type !== "call" || typeof value.id !== "number") return undefined;
  if (typeof value.file !== "string" || typeof value.export !== "string" || !Array.isArray(value.args) || !isRecord(value.spec)) return undefined;
  if (value.method !== undefined && typeof value.method !== "string") return undefined;
  if (value.instance !== undefined && (!isRecord(value.instance) || typeof value.instance.id !== "string" || !Array.isArray(value.instance.args))) return undefined;
  return value as unknown as CallMessage;
}

/** The issues of the files the script is built from (the rest of the project is not this run's business). */
function issuesOf(manifest: Manifest, inputs: ReadonlySet<string>): DiscoveryIssue[] {
  return manifest.issues.filter((issue) => inputs.has(issue.file) || issue.related?.some((f) => inputs.has(f)));
}

/** Starts the script; resolves once it runs. Rejects (nothing left running) when it cannot start: a missing file, a build error, a backend that fails. */
export async function startScriptRun(options: ScriptRunOptions, given: Partial<ScriptRunParts> = {}): Promise<ScriptRun> {
  const { logger } = options;
  const parts: ScriptRunParts = {
    clock: given.clock ?? systemClock,
    startBackend: given.startBackend ?? startBackend,
    createDiscovery: given.createDiscovery ?? createDiscovery,
    print: given.print ?? ((text) => logger.info(text)),
    render: given.render ?? renderConsole,
    events: given.events ?? new DevSessionEmitter({ onListenerError: (error, kind) => logger.debug(`a listener of ${String(kind)} failed: ${String(error)}`) }),
  };
  const root = options.projectRoot;
  const script = await checkScript(options);
  const runDir = await prepareRunDir(root);
  const unrender = parts.render(parts.events, { print: parts.print, logger });
  let runtime: FunctionRuntime | undefined;
  const cleanUp = async (): Promise<void> => {
    await runtime?.close({ review: true });
    unrender();
    await rm(runDir, { recursive: true, force: true }).catch((e: unknown) => logger.debug(`removing ${runDir}: ${String(e)}`));
  };

  let child: ChildProcess;
  try {
    const bundle = await buildScriptBundle({ root, entry: script.path, outDir: join(runDir, "script") });
    if (!bundle.ok) {
      const lines = bundle.problems.map((p) => `${p.file}${p.line ? `:${p.line}:${p.column ?? 1}` : ""}: ${p.message}`);
      throw new AppError("FUNCTION_LOAD_FAILED", lines.join("\n"), { hint: `Fix ${script.rel} (or the file named) and run it again.` });
    }
    runtime = await startFunctionRuntime({
      projectRoot: root,
      backend: options.backend,
      env: options.env,
      logger,
      events: parts.events,
      clock: parts.clock,
      startBackend: parts.startBackend,
      // Bundles in the run's own folder: discovery removes the bundles it no longer uses from its folder.
      createDiscovery: (o) => parts.createDiscovery({ ...o, cacheDir: runDir }),
    });
    const backend = runtime.backends.current;
    parts.print(`flash run ${script.rel} — ${backend.description} — ${options.backendReason}`);
    const manifest = await runtime.discover();
    const inputs = new Set(bundle.inputs);
    const conflicts = findConfigConflicts(manifest).filter((c) => c.files.some((f) => inputs.has(f)));
    parts.events.emit("discovered", { phase: "start", generation: manifest.generation, functions: manifest.functions.length, issues: issuesOf(manifest, inputs), conflicts });

    child = spawn(process.execPath, ["--enable-source-maps", "--import", CHILD_MODULE, bundle.path, ...options.args], {
      cwd: options.cwd,
      env: { ...options.env, ...backend.clientEnv, [SCRIPT_PATH_ENV]: script.path },
      stdio: ["inherit", "inherit", "inherit", "pipe"],
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  return serveScript(child, runtime, script.rel, logger, cleanUp);
}

/** Answers the script's calls until it exits, then closes everything. */
function serveScript(child: ChildProcess, runtime: FunctionRuntime, scriptRel: string, logger: Logger, cleanUp: () => Promise<void>): ScriptRun {
  const inFlight = new Set<AbortController>();
  const pipe = child.stdio[CHANNEL_FD] as (Readable & Writable) | null;
  let channel: MessageChannel<ResultMessage> | undefined;
  const answer = (message: ResultMessage): void => {
    try {
      channel?.send(message);
    } catch (error) {
      if (!(error instanceof MessageTooLargeError) || !message.ok) throw error;
      channel?.send({ type: "result", id: message.id, ok: false, error: errorShape(new AppError("BODY_TOO_LARGE", `the result is too large to hand to the script: ${error.message}`)) });
    }
  };

  const handle = async (message: CallMessage): Promise<void> => {
    const target: FunctionTarget = { file: message.file, export: message.export, ...(message.method ? { method: message.method } : {}) };
    if (inFlight.size >= MAX_SCRIPT_CALLS) {
      answer({ type: "result", id: message.id, ok: false, error: errorShape(new AppError("RATE_LIMITED", `the script has ${MAX_SCRIPT_CALLS} remote calls in flight; wait for some to finish`)) });
      return;
    }
    const controller = new AbortController();
    inFlight.add(controller);
    try {
      const manifest = runtime.manifest;
      const module = manifest?.modules[message.file];
      if (!manifest || !module) throw manifest ? missingModule(target, manifest, scriptRel) : new AppError("SERVICE_UNAVAILABLE", "flash run has not discovered the project yet");
      const value = await runtime.invoker.callModule({
        moduleUrl: module.url,
        target,
        spec: message.spec as ResourceSpec,
        args: message.args.map((arg) => decodeValue(arg)),
        ...(message.instance ? { instance: { id: message.instance.id, args: message.instance.args.map((arg) => decodeValue(arg)) } } : {}),
        signal: controller.signal,
      });
      answer({ type: "result", id: message.id, ok: true, value: encodeValue(value, "result") });
    } catch (error) {
      answer({ type: "result", id: message.id, ok: false, error: errorShape(error) });
    } finally {
      inFlight.delete(controller);
    }
  };

  if (pipe) {
    // The pipe is a Duplex (a socket pair); only its ends are typed apart.
    channel = openChannel<unknown, ResultMessage>(
      pipe as unknown as Duplex,
      (value) => {
        const message = readCall(value);
        if (!message) {
          logger.debug(`flash run: ignored a message from the script that is not a call: ${JSON.stringify(value).slice(0, 200)}`);
          return;
        }
        void handle(message).catch((error: unknown) => logger.debug(`answering call ${message.id}: ${String(error)}`));
      },
      (error) => {
        if (error) logger.debug(`flash run channel: ${error.message}`);
      },
    );
  }

  const exited = new Promise<number>((resolveExit) => {
    child.once("error", (error) => {
      logger.error(`could not start the script: ${error.message}`);
      resolveExit(1);
    });
    child.once("exit", (code, signal) => {
      if (code !== null) return resolveExit(code);
      const number = signal ? constants.signals[signal] : undefined;
      resolveExit(number ? 128 + number : 1);
    });
  });

  const cancelCalls = async (reason: AppError): Promise<void> => {
    for (const controller of inFlight) controller.abort(reason);
    await runtime.abandonCalls();
  };

  const exitCode = (async () => {
    const code = await exited;
    // Calls the script left behind (it exited while they ran) are cancelled.
    await cancelCalls(new AppError("SERVICE_UNAVAILABLE", "the script exited: the call was cancelled"));
    channel?.close();
    await cleanUp();
    return code;
  })();

  return {
    pid: child.pid,
    exitCode,
    interrupt(signal, force = false) {
      // The script first, so it ends by the signal as under `node` (a terminal's Ctrl-C reached it already);
      // then the calls: their jobs are cancelled (on Runpod they bill).
      if (child.exitCode === null && child.signalCode === null) child.kill(force ? "SIGKILL" : signal);
      void cancelCalls(new AppError("SERVICE_UNAVAILABLE", "flash run is stopping: the call was cancelled"));
    },
  };
}
