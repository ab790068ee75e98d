/**
 * Container workers (`flash emulator --workers container`): each worker is a
 * Docker container from its endpoint's image, started the way Runpod starts
 * one (docs/internals.md, "The emulator"). This file owns what they share:
 *
 * - one internal Docker network per emulator, through which a container
 *   reaches the host at the network's gateway address — where the emulator
 *   also listens — and nothing else; the egress proxy lets workers out as
 *   far as its policy says;
 * - labels on every container and network (managed, role, emulator, owner
 *   host and pid), so that `close()` removes them and a later start removes
 *   those an emulator killed with SIGKILL left behind;
 * - launching a container and following it like a process (output lines,
 *   exit, SIGTERM then removal), behind the same WorkerProcess interface.
 *
 * Engine access goes through WorkerContainerRuntime (src/container); only
 * that package's Docker implementation knows dockerode.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import type { Labels, NetworkInfo, WorkerContainerRuntime } from "../container/container-runtime.js";
import { LABELS } from "../container/labels.js";
import { AppError, isAppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { isProcessAlive } from "../common/process-alive.js";
import { startEgressProxy } from "./egress-proxy.js";
import type { EgressPolicy, EgressProxy } from "./egress-proxy.js";
import type { ContainerCommand } from "./start-command.js";
import type { WorkerExit, WorkerProcess } from "./worker-launcher.js";

const ROLE_WORKER = "emulator-worker";
const ROLE_NETWORK = "emulator-network";
/** Lines longer than this are cut, as for process workers. */
const MAX_LINE = 16 * 1024;

export interface ContainerWorkersOptions {
  runtime: WorkerContainerRuntime;
  logger: Logger;
  egress: EgressPolicy;
}

/** What to run in one worker container. */
export interface ContainerLaunch {
  /** Unique among this emulator's workers (the worker id). */
  workerId: string;
  endpointId: string;
  endpointName: string;
  image: string;
  command: ContainerCommand;
  env: Record<string, string>;
  onLine: (stream: "stdout" | "stderr", line: string) => void;
}

/** A worker container, followed like a process; `address()` is its IP on the workers' network. */
export interface ContainerWorkerProcess extends WorkerProcess {
  address(): Promise<string | undefined>;
}

/** Containers and networks left by emulators of this host whose process is gone. */
async function removeLeftovers(runtime: WorkerContainerRuntime, logger: Logger): Promise<void> {
  const host = hostname();
  const abandoned = (labels: Labels): boolean => labels[LABELS.ownerHost] === host && !isProcessAlive(Number(labels[LABELS.ownerPid]));
  const containers = (await runtime.listContainers({ [LABELS.managed]: "true", [LABELS.role]: ROLE_WORKER })).filter((c) => abandoned(c.labels));
  await Promise.all(containers.map((c) => runtime.removeContainer(c.id)));
  const networks = (await runtime.listNetworks({ [LABELS.managed]: "true", [LABELS.role]: ROLE_NETWORK })).filter((n) => abandoned(n.labels));
  for (const network of networks) await runtime.removeNetwork(network.id).catch(() => {});
  if (containers.length + networks.length > 0) {
    logger.info(`removed ${containers.length} worker container(s) and ${networks.length} network(s) left by an emulator that was killed`);
  }
}

export class ContainerWorkers {
  readonly #options: ContainerWorkersOptions;
  readonly #instance: string;
  readonly #network: NetworkInfo;
  readonly #proxy: EgressProxy | undefined;
  readonly #live = new Set<string>();
  #closed = false;

  private constructor(options: ContainerWorkersOptions, instance: string, network: NetworkInfo, proxy: EgressProxy | undefined) {
    this.#options = options;
    this.#instance = instance;
    this.#network = network;
    this.#proxy = proxy;
  }

  /** Removes what killed emulators left, creates this emulator's network and its egress proxy. */
  static async start(options: ContainerWorkersOptions): Promise<ContainerWorkers> {
    const { runtime, logger } = options;
    await runtime.ping();
    await removeLeftovers(runtime, logger);
    const instance = `${process.pid}-${randomBytes(3).toString("hex")}`;
    const network = await runtime.ensureNetwork(`flash-emulator-${instance}`, {
      internal: true,
      labels: { ...ownerLabels(instance), [LABELS.role]: ROLE_NETWORK },
    });
    if (!network.gateway) {
      await runtime.removeNetwork(network.id).catch(() => {});
      throw new AppError("CONTAINER_FAILED", `the Docker network ${network.name} has no gateway address, so workers could not reach the emulator`, {
        hint: "Container workers need a local Docker engine on Linux (or a VM whose bridge networks reach the host).",
      });
    }
    const proxy = options.egress.kind === "none" ? undefined : await startEgressProxy({ host: network.gateway, policy: options.egress, logger: logger.child("egress") });
    logger.debug(`container workers: network ${network.name} (${network.subnet ?? "?"}), emulator at ${network.gateway}`);
    return new ContainerWorkers(options, instance, network, proxy);
  }

  /** The host's address on the workers' network: where the emulator listens for them. */
  get gateway(): string {
    return this.#network.gateway as string;
  }

  /** HTTP(S)_PROXY for workers, when the egress policy lets them out at all. */
  get proxyUrl(): string | undefined {
    return this.#proxy?.url;
  }

  /** Starts a worker container; its exit (or failure to start) resolves `exited`. */
  launch(spec: ContainerLaunch): ContainerWorkerProcess {
    const { runtime } = this.#options;
    let id: string | undefined;
    let exit: WorkerExit | undefined;
    let resolveExit!: (exit: WorkerExit) => void;
    const exited = new Promise<WorkerExit>((resolve) => (resolveExit = resolve));
    const finish = (result: WorkerExit): void => {
      if (exit) return;
      exit = result;
      const done = id ? runtime.removeContainer(id).catch(() => {}) : Promise.resolve();
      void done.then(() => {
        if (id) this.#live.delete(id);
        resolveExit(result);
      });
    };
    const lines = (stream: "stdout" | "stderr"): PassThrough => {
      const pipe = new PassThrough();
      createInterface({ input: pipe, crlfDelay: Infinity }).on("line", (line) => spec.onLine(stream, line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}… (line cut)` : line));
      return pipe;
    };
    const stdout = lines("stdout");
    const stderr = lines("stderr");

    void (async () => {
      try {
        id = await runtime.createWorkerContainer({
          name: `flash-worker-${spec.endpointName.toLowerCase().replace(/[^a-z0-9_.-]/g, "-")}-${spec.workerId}`,
          image: spec.image,
          ...(spec.command.cmd ? { cmd: spec.command.cmd } : {}),
          ...(spec.command.entrypoint ? { entrypoint: spec.command.entrypoint } : {}),
          env: spec.env,
          labels: { ...ownerLabels(this.#instance), [LABELS.role]: ROLE_WORKER, [LABELS.endpoint]: spec.endpointId },
          network: this.#network.name,
        });
        this.#live.add(id);
        if (this.#closed) return finish({ code: null, signal: "SIGKILL" });
        const attached = await runtime.attach(id, { stdout, stderr, tty: false });
        try {
          await runtime.startContainer(id);
        } catch (error) {
          attached.detach();
          // The engine could not run the command at all (no such executable in the image, …).
          const message = isAppError(error) ? error.message : String(error);
          return finish({ code: null, signal: null, error: message, unstartable: { message: `the image ${spec.image} cannot run the start command: ${message}`, hint: NODE_HINT } });
        }
        const code = await runtime.waitContainer(id);
        await Promise.race([attached.ended, new Promise((resolve) => setTimeout(resolve, 500))]);
        attached.detach();
        // 126/127: the shell (an image's entrypoint script) could not find or run the program.
        const unstartable = code === 127 || code === 126 ? { message: `the start command's program was not found in the image ${spec.image} (exit ${code})`, hint: NODE_HINT } : undefined;
        finish({ code, signal: null, ...(unstartable ? { unstartable } : {}) });
      } catch (error) {
        const imageMissing = isAppError(error) && error.details?.imageMissing === true;
        const message = isAppError(error) ? error.message : String(error);
        finish({
          code: null,
          signal: null,
          error: message,
          ...(imageMissing ? { unstartable: { message: `the image ${spec.image} is not in the Docker engine (the emulator never pulls images)`, hint: `Build or pull ${spec.image} first (docker pull ${spec.image}), or set the config's image to one you have.` } } : {}),
        });
      }
    })();

    let terminating: Promise<WorkerExit> | undefined;
    return {
      pid: undefined,
      exited,
      address: async () => (id ? runtime.containerAddress(id, this.#network.name) : undefined),
      terminate: (graceMs) => {
        if (exit) return exited;
        terminating ??= (async () => {
          if (id) await runtime.signalContainer(id, "SIGTERM").catch(() => {});
          let timer: NodeJS.Timeout | undefined;
          const late = await Promise.race([exited.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)))]);
          clearTimeout(timer);
          // Removal kills what is still running.
          if (late && id) await runtime.removeContainer(id).catch(() => {});
          return exited;
        })();
        return terminating;
      },
      kill: () => {
        // Synchronous callers (the host process exiting) cannot wait for the engine: the
        // removal is started, and what it does not finish the next start removes.
        if (id && !exit) void runtime.removeContainer(id).catch(() => {});
      },
    };
  }

  /** Removes every container of this emulator, its proxy and its network. */
  async close(): Promise<void> {
    this.#closed = true;
    const { runtime } = this.#options;
    const labelled = await runtime.listContainers({ [LABELS.emulator]: this.#instance }).catch(() => []);
    const ids = new Set([...this.#live, ...labelled.map((c) => c.id)]);
    await Promise.all([...ids].map((id) => runtime.removeContainer(id).catch(() => {})));
    await this.#proxy?.close();
    await runtime.removeNetwork(this.#network.id).catch((error: unknown) => this.#options.logger.warn(`could not remove network ${this.#network.name}: ${(error as Error).message}`));
  }
}

const NODE_HINT = "flash-ts workers need an image with Node.js 22 or newer on its PATH; set the config's image (or FLASH_CPU_IMAGE / FLASH_GPU_IMAGE) to one that has it.";

function ownerLabels(instance: string): Labels {
  return {
    [LABELS.managed]: "true",
    [LABELS.emulator]: instance,
    [LABELS.ownerHost]: hostname(),
    [LABELS.ownerPid]: String(process.pid),
  };
}
