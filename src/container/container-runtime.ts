/**
 * The container engine as flash-ts needs it, in our own words. Two
 * implementations: `engine-runtime.ts` (the Engine API on node:http, for the
 * calls of every start) and `docker-container-runtime.ts` (dockerode, the
 * only file that imports it: builds, pulls, SSH engines); tests use a fake.
 * No vendor type crosses this interface, so a fake needs no casts.
 *
 * Errors: implementations throw `AppError`s — `DOCKER_UNAVAILABLE` when the
 * engine cannot be reached, `PORT_IN_USE` when a published port is taken,
 * `IMAGE_BUILD_FAILED` for builds, `CONTAINER_FAILED` for anything else.
 * "Already stopped" and "no such container" on stop/remove are success.
 */
import type { Readable } from "node:stream";

/** Labels: string keys and values, as the engine stores them. */
export type Labels = Record<string, string>;

/** What the engine says about itself (for logs and decisions such as "is the engine local"). */
export interface EngineInfo {
  /** Server version, e.g. `27.3.1`. */
  version: string;
  /** Operating system of the engine, e.g. `Docker Desktop` or `Debian GNU/Linux 12`. */
  os: string;
  /** Where we connected: `unix:///var/run/docker.sock`, `tcp://…`, `npipe://…`. */
  endpoint: string;
}

export interface ImageInfo {
  id: string;
  labels: Labels;
}

export interface ImageBuildSpec {
  /** The folder the context files are relative to. */
  contextDir: string;
  /** Context files and folders, relative to `contextDir`, `/` separators. Exactly these are sent. */
  files: string[];
  /** Dockerfile path inside the context. */
  dockerfile: string;
  /** Tag given to the result, e.g. `flash-dev:0.1.0`. */
  tag: string;
  labels: Labels;
  buildArgs: Record<string, string>;
}

/** One bind mount or named volume. */
export type MountSpec =
  | { type: "bind"; source: string; target: string; readOnly?: boolean }
  | { type: "volume"; source: string; target: string };

export interface PortBinding {
  /** Port inside the container (TCP). */
  containerPort: number;
  /** Host interface to publish on, an IP address (`127.0.0.1`, `0.0.0.0`, `::1`). */
  hostIp: string;
  hostPort: number;
}

export interface ContainerSpec {
  name: string;
  image: string;
  /** Arguments given to the image's entrypoint (Docker's `Cmd`). */
  command: string[];
  env: Record<string, string>;
  labels: Labels;
  mounts: MountSpec[];
  ports: PortBinding[];
  workingDir: string;
  /** `uid:gid` to run as; undefined keeps the image's user. */
  user?: string;
  /** Allocate a TTY (output is then one stream) and keep stdin open. */
  tty: boolean;
  openStdin: boolean;
  /** Run the engine's init (tini) as PID 1: it forwards signals and reaps orphaned processes. */
  init?: boolean;
}

export interface ContainerSummary {
  id: string;
  name: string;
  labels: Labels;
  /** `created`, `running`, `exited`, … as the engine says. */
  state: string;
}

export interface ContainerState {
  id: string;
  running: boolean;
  exitCode: number | undefined;
  /** `healthy`, `unhealthy`, `starting`, or undefined without a health check. */
  health: string | undefined;
  labels: Labels;
}

export interface AttachOptions {
  /** Forwarded to the container's stdin when given (the container must have `openStdin`). */
  stdin?: Readable;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** The container has a TTY: one raw stream instead of multiplexed stdout/stderr. */
  tty: boolean;
}

export interface AttachHandle {
  /** Resolves when the container's output has ended (it exited) or `detach()` was called. */
  readonly ended: Promise<void>;
  /** Stops forwarding (stdin is unpiped, the connection closed). Idempotent. */
  detach(): void;
}

/** Volume identity and labels. */
export interface VolumeSummary {
  name: string;
  labels: Labels;
}

export interface ContainerRuntime {
  /** Checks that the engine answers; throws `DOCKER_UNAVAILABLE` otherwise. */
  ping(): Promise<EngineInfo>;

  /** The image with this reference, or undefined when the engine does not have it. */
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  /** Builds an image; `onProgress` receives each line of build output. */
  buildImage(spec: ImageBuildSpec, onProgress: (line: string) => void): Promise<ImageInfo>;
  /** Pulls an image from its registry. */
  pullImage(ref: string, onProgress: (line: string) => void): Promise<void>;
  /** Removes an image by id; an image still in use or already gone is left alone. */
  removeImage(id: string): Promise<void>;
  /** Removes untagged images that carry all these labels; returns how many went. */
  pruneDanglingImages(labels: Labels): Promise<number>;

  /** Creates the named volume when it does not exist (labels apply to a new one). */
  ensureVolume(name: string, labels: Labels): Promise<void>;
  listVolumes(labels: Labels): Promise<VolumeSummary[]>;
  /** Removes a volume; a missing one is success. */
  removeVolume(name: string): Promise<void>;

  /** Containers (running or not) that carry all these labels. */
  listContainers(labels: Labels): Promise<ContainerSummary[]>;
  /** Creates a container and returns its id. */
  createContainer(spec: ContainerSpec): Promise<string>;
  /** Connects to the container's stdio; call before `startContainer` to see all output. */
  attach(id: string, options: AttachOptions): Promise<AttachHandle>;
  startContainer(id: string): Promise<void>;
  /** Waits until the container stops and returns its exit code. */
  waitContainer(id: string): Promise<number>;
  /** Sends a signal to the container's main process; a stopped container is success. */
  signalContainer(id: string, signal: NodeJS.Signals): Promise<void>;
  /** Removes the container (killing it when running) with its anonymous volumes; a missing one is success. */
  removeContainer(id: string): Promise<void>;
  /** The container's state, or undefined when it does not exist. */
  inspectContainer(id: string): Promise<ContainerState | undefined>;
  /** Resizes the container's TTY. */
  resizeTty(id: string, size: { rows: number; columns: number }): Promise<void>;
}

/** A Docker network as the emulator uses it. */
export interface NetworkInfo {
  id: string;
  name: string;
  /** The host's address on the network (where containers reach the host), when it has one. */
  gateway: string | undefined;
  subnet: string | undefined;
  labels: Labels;
}

/**
 * A container as a Runpod worker: the image's entrypoint (unless replaced)
 * runs with `cmd` instead of the image's CMD, on one network only, with no
 * mounts, ports or TTY (docs/internals.md, "The emulator").
 */
export interface WorkerContainerSpec {
  name: string;
  image: string;
  /** Replaces the image's CMD; undefined keeps it. */
  cmd?: string[];
  /** Replaces the image's ENTRYPOINT; undefined keeps it. */
  entrypoint?: string[];
  env: Record<string, string>;
  labels: Labels;
  /** The only network the container is attached to. */
  network: string;
}

/** What the emulator's container workers need besides `ContainerRuntime`. */
export interface WorkerContainerRuntime extends ContainerRuntime {
  /** Creates a bridge network unless one with this name exists; `internal`: no route beyond the host. */
  ensureNetwork(name: string, options: { internal: boolean; labels: Labels }): Promise<NetworkInfo>;
  /** Networks carrying all these labels. */
  listNetworks(labels: Labels): Promise<NetworkInfo[]>;
  /** Removes a network; a missing one is success. */
  removeNetwork(nameOrId: string): Promise<void>;
  /** Creates a worker container; throws `CONTAINER_FAILED` with `details.imageMissing` when the engine has no such image. */
  createWorkerContainer(spec: WorkerContainerSpec): Promise<string>;
  /** The container's address on `network`, once it runs. */
  containerAddress(id: string, network: string): Promise<string | undefined>;
}
