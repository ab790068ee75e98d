/**
 * The outside parts of a dev session, each a factory that defaults to the
 * real thing. Tests replace some (a fake backend, a watcher they trigger, a
 * fake clock) and keep the rest real; see docs/internals.md, "The dev session".
 */
import { createDiscovery } from "../discovery/index.js";
import { createTypeSchemaService } from "../discovery/type-schema/index.js";
import type { TypeSchemaService, TypeSchemaServiceOptions } from "../discovery/type-schema/index.js";
import type { Discovery, DiscoveryOptions } from "../discovery/index.js";
import { findFreePort, startHttpServer } from "../server/index.js";
import type { FreePort, HttpServerOptions, StartedHttpServer } from "../server/index.js";
import type { RequestHandlerFactory } from "../server/start-http-server.js";
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import { createWatcher } from "../watch/index.js";
import type { CreateWatcherOptions, Watcher } from "../watch/index.js";
import { startBackend } from "./backend.js";
import type { Backend, BackendOptions } from "./backend.js";
import { renderConsole } from "./console-renderer.js";
import type { SessionRenderer } from "./console-renderer.js";
import { DevSessionEmitter } from "./session-events.js";

export interface DevSessionParts {
  /** Time: reload and start-up durations, the drain deadline of a replaced backend, SSE heartbeats. */
  clock: Clock;
  createDiscovery(options: DiscoveryOptions): Discovery;
  createWatcher(options: CreateWatcherOptions): Watcher;
  /** The type schema service (a worker thread with the TypeScript compiler, started at its first extraction). */
  createSchemaService(options: TypeSchemaServiceOptions): TypeSchemaService;
  /** The execution backend: the embedded emulator or Runpod (started again after a `.env` change that configures it). */
  startBackend(options: BackendOptions): Promise<Backend>;
  /** The port to listen on when the requested one is taken. */
  findFreePort(host: string, port: number): Promise<FreePort>;
  startHttpServer(app: RequestHandlerFactory, options: HttpServerOptions): Promise<StartedHttpServer>;
  /** Human output (the console renderer's blocks of text). Default: the logger at info. */
  print(text: string): void;
  /** Asks a yes/no question (auto-provision above 5 endpoints). Absent: nobody can answer. */
  confirm: ((question: string) => Promise<boolean>) | undefined;
  /** Subscribes the console to the session's events. Default: today's console. */
  render: SessionRenderer;
  /** Where the session reports; pass one to subscribe before it starts (start-up events included). */
  events: DevSessionEmitter;
}

/** Fills in the real part for every one not given. */
export function resolveDevSessionParts(given: Partial<DevSessionParts>, logger: Logger): DevSessionParts {
  return {
    clock: given.clock ?? systemClock,
    createDiscovery: given.createDiscovery ?? createDiscovery,
    createWatcher: given.createWatcher ?? createWatcher,
    createSchemaService: given.createSchemaService ?? createTypeSchemaService,
    startBackend: given.startBackend ?? startBackend,
    findFreePort: given.findFreePort ?? findFreePort,
    startHttpServer: given.startHttpServer ?? startHttpServer,
    print: given.print ?? ((text) => logger.info(text)),
    confirm: given.confirm,
    render: given.render ?? renderConsole,
    events: given.events ?? new DevSessionEmitter({ onListenerError: (error, kind) => logger.debug(`a listener of ${String(kind)} failed: ${String(error)}`) }),
  };
}
