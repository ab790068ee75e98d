/**
 * An in-memory ContainerRuntime for unit tests: records every call, keeps
 * images, volumes and containers in maps, and lets a test decide when a
 * container exits (`exit(id, code)`) or how it reacts to a signal.
 */
import { AppError } from "../../../src/common/errors.js";
import type {
  AttachHandle,
  AttachOptions,
  ContainerRuntime,
  ContainerSpec,
  ContainerState,
  ContainerSummary,
  EngineInfo,
  ImageBuildSpec,
  ImageInfo,
  Labels,
  VolumeSummary,
} from "../../../src/container/container-runtime.js";

interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  state: "created" | "running" | "exited";
  exitCode: number | undefined;
  exited: Promise<number>;
  resolveExit: (code: number) => void;
}

export class FakeContainerRuntime implements ContainerRuntime {
  readonly calls: string[] = [];
  readonly images = new Map<string, ImageInfo>();
  readonly volumes = new Map<string, Labels>();
  readonly containers = new Map<string, FakeContainer>();
  readonly signals: { id: string; signal: NodeJS.Signals }[] = [];
  readonly builds: ImageBuildSpec[] = [];
  /** How a running container reacts to a signal; default: SIGKILL exits 137, SIGINT/SIGTERM exit 0. */
  onSignal: (container: FakeContainer, signal: NodeJS.Signals) => void = (c, signal) => {
    if (signal === "SIGKILL") this.exit(c.id, 137);
    else this.exit(c.id, 0);
  };
  /** Set to make `startContainer` fail. */
  startError: AppError | undefined;
  /** Set to make `ping` fail. */
  pingError: AppError | undefined;
  private nextId = 1;

  async ping(): Promise<EngineInfo> {
    this.calls.push("ping");
    if (this.pingError) throw this.pingError;
    return { version: "fake", os: "fake", endpoint: "fake://" };
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    return this.images.get(ref);
  }

  async buildImage(spec: ImageBuildSpec, onProgress: (line: string) => void): Promise<ImageInfo> {
    this.calls.push(`build ${spec.tag}`);
    this.builds.push(spec);
    onProgress("Step 1/1 : FROM fake");
    const image = { id: `sha256:${this.nextId++}`, labels: spec.labels };
    this.images.set(spec.tag, image);
    return image;
  }

  async pullImage(ref: string): Promise<void> {
    this.calls.push(`pull ${ref}`);
    throw new AppError("CONTAINER_FAILED", "no registry");
  }

  async removeImage(id: string): Promise<void> {
    this.calls.push(`removeImage ${id}`);
  }

  async pruneDanglingImages(): Promise<number> {
    this.calls.push("pruneDanglingImages");
    return 0;
  }

  async ensureVolume(name: string, labels: Labels): Promise<void> {
    this.calls.push(`ensureVolume ${name}`);
    if (!this.volumes.has(name)) this.volumes.set(name, labels);
  }

  async listVolumes(labels: Labels): Promise<VolumeSummary[]> {
    return [...this.volumes].filter(([, l]) => matches(l, labels)).map(([name, l]) => ({ name, labels: l }));
  }

  async removeVolume(name: string): Promise<void> {
    this.volumes.delete(name);
  }

  async listContainers(labels: Labels): Promise<ContainerSummary[]> {
    return [...this.containers.values()]
      .filter((c) => matches(c.spec.labels, labels))
      .map((c) => ({ id: c.id, name: c.spec.name, labels: c.spec.labels, state: c.state }));
  }

  /** Adds a container as if an earlier CLI had created it. */
  addContainer(spec: ContainerSpec, state: FakeContainer["state"] = "running"): string {
    const id = `c${this.nextId++}`.padEnd(64, "0");
    let resolveExit: (code: number) => void = () => {};
    const exited = new Promise<number>((r) => (resolveExit = r));
    this.containers.set(id, { id, spec, state, exitCode: undefined, exited, resolveExit });
    return id;
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    this.calls.push(`create ${spec.name}`);
    if ([...this.containers.values()].some((c) => c.spec.name === spec.name)) {
      throw new AppError("CONTAINER_FAILED", `A container named ${spec.name} already exists.`);
    }
    return this.addContainer(spec, "created");
  }

  async attach(id: string, options: AttachOptions): Promise<AttachHandle> {
    this.calls.push(`attach ${id.slice(0, 3)}`);
    const c = this.get(id);
    options.stdout.write(`output of ${c.spec.name}\n`);
    return { ended: c.exited.then(() => undefined), detach: () => {} };
  }

  async startContainer(id: string): Promise<void> {
    this.calls.push(`start ${id.slice(0, 3)}`);
    if (this.startError) throw this.startError;
    this.get(id).state = "running";
  }

  async waitContainer(id: string): Promise<number> {
    return this.get(id).exited;
  }

  async signalContainer(id: string, signal: NodeJS.Signals): Promise<void> {
    this.calls.push(`signal ${signal}`);
    this.signals.push({ id, signal });
    const c = this.containers.get(id);
    if (c && c.state === "running") this.onSignal(c, signal);
  }

  async removeContainer(id: string): Promise<void> {
    this.calls.push(`remove ${id.slice(0, 3)}`);
    const c = this.containers.get(id);
    if (c && c.state !== "exited") this.exit(id, 137);
    this.containers.delete(id);
  }

  async inspectContainer(id: string): Promise<ContainerState | undefined> {
    const c = this.containers.get(id);
    if (!c) return undefined;
    return { id, running: c.state === "running", exitCode: c.exitCode, health: undefined, labels: c.spec.labels };
  }

  async resizeTty(): Promise<void> {}

  /** Makes the container's main process exit with `code`. */
  exit(id: string, code: number): void {
    const c = this.get(id);
    if (c.state === "exited") return;
    c.state = "exited";
    c.exitCode = code;
    c.resolveExit(code);
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new AppError("CONTAINER_FAILED", `no such container ${id}`);
    return c;
  }
}

function matches(have: Labels, want: Labels): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}
