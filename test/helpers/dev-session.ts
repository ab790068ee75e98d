/**
 * A `flash dev` session in the test process, with every real part (discovery,
 * watcher, the embedded emulator and its workers, the HTTP server) unless the
 * test replaces some. Tests wait on the session's events (`next`), not on its
 * console; what the console printed is kept to explain a failure.
 */
import { resolveDevOptions } from "../../src/dev/dev-options.js";
import type { DevFlags } from "../../src/dev/dev-options.js";
import { startDevSession } from "../../src/dev/dev-session.js";
import { applyEnvFile, readEnvFile } from "../../src/dev/env-file.js";
import type { DevSession } from "../../src/dev/dev-session.js";
import { DevSessionEmitter } from "../../src/dev/session-events.js";
import type { DevSessionEventName, DevSessionEvents } from "../../src/dev/session-events.js";
import type { DevSessionParts } from "../../src/dev/session-parts.js";
import { createMemoryLogger } from "../../src/common/logger.js";

export interface InProcessSession {
  session: DevSession;
  url: string;
  events: DevSessionEmitter;
  /** Every event so far, in order. */
  seen: { kind: DevSessionEventName; event: unknown }[];
  /** What the console printed and logged (for failure messages). */
  console(): string;
  /**
   * The next event of `kind` that `filter` accepts. Ask before acting (then
   * the event cannot slip by), await after.
   */
  next<K extends DevSessionEventName>(kind: K, filter?: (event: DevSessionEvents[K]) => boolean, timeoutMs?: number): Promise<DevSessionEvents[K]>;
  /** The events of `kind` so far. */
  all<K extends DevSessionEventName>(kind: K): DevSessionEvents[K][];
  close(): Promise<void>;
}

export interface InProcessSessionOptions {
  /** `flash dev` flags; `--local` and port 0 unless given. */
  flags?: DevFlags;
  /**
   * The session's environment: the project's `.env` is applied to it first,
   * as the CLI does, and edits to it later. Default: a copy of process.env
   * without RUNPOD_API_KEY.
   */
  env?: NodeJS.ProcessEnv;
  parts?: Partial<DevSessionParts>;
}

export async function startInProcessSession(root: string, options: InProcessSessionOptions = {}): Promise<InProcessSession> {
  const env = options.env ?? { ...process.env };
  if (!options.env) delete env.RUNPOD_API_KEY;
  const envFile = applyEnvFile(env, await readEnvFile(root)).state;
  const events = new DevSessionEmitter();
  const seen: InProcessSession["seen"] = [];
  events.onAny((kind, event) => seen.push({ kind, event }));
  const logger = createMemoryLogger("info");
  const printed: string[] = [];
  const consoleText = (): string => [...printed, "--- log ---", ...logger.lines].join("\n").slice(-4000);
  const session = await startDevSession(
    { ...resolveDevOptions({ port: "0", local: true, ...options.flags }, env, root), env, logger, envFile },
    { print: (text) => printed.push(text), events, ...options.parts },
  );
  return {
    session,
    url: session.url,
    events,
    seen,
    console: consoleText,
    next(kind, filter, timeoutMs = 30_000) {
      return events.once(kind, filter, AbortSignal.timeout(timeoutMs)).catch((error: unknown) => {
        const recent = seen.slice(-10).map((e) => e.kind).join(", ");
        throw new Error(`no ${kind} event within ${timeoutMs} ms (last events: ${recent}): ${String(error)}\n${consoleText()}`);
      });
    },
    all: (kind) => seen.filter((e) => e.kind === kind).map((e) => e.event as DevSessionEvents[typeof kind]),
    close: () => session.close(),
  };
}
