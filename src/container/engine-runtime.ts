/**
 * `ContainerRuntime` on the Engine API over node:http (engine-http.ts): what
 * `flash dev` uses on every start. Image builds and pulls, and engines
 * reached over SSH, go to the dockerode implementation, loaded only then.
 */
import type { AppError } from "../common/errors.js";
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
} from "./container-runtime.js";
import type { DockerEndpoint } from "./docker-endpoint.js";
import { containerCreateBody, createFailure, engineFailure, labelFilters, pingFailure } from "./engine-api.js";
import { EngineHttp, forwardAttached } from "./engine-http.js";

/** The runtime for one engine endpoint. No I/O (and no dockerode) until a method needs it. */
export function createContainerRuntime(endpoint: DockerEndpoint): ContainerRuntime {
  const dockerode = (): Promise<ContainerRuntime> => import("./docker-container-runtime.js").then((m) => m.createDockerContainerRuntime(endpoint));
  if (endpoint.kind === "ssh") return new LazyRuntime(dockerode);
  return new EngineRuntime(endpoint, dockerode);
}

const filters = (labels: Labels): string => JSON.stringify({ label: labelFilters(labels) });

class EngineRuntime implements ContainerRuntime {
  readonly #http: EngineHttp;
  readonly #url: string;
  readonly #dockerode: () => Promise<ContainerRuntime>;
  #loaded: Promise<ContainerRuntime> | undefined;

  constructor(endpoint: Exclude<DockerEndpoint, { kind: "ssh" }>, dockerode: () => Promise<ContainerRuntime>) {
    this.#http = new EngineHttp(endpoint);
    this.#url = endpoint.url;
    this.#dockerode = dockerode;
  }

  #fail(error: unknown, action: string): AppError {
    return engineFailure(this.#url, error, action);
  }

  #heavy(): Promise<ContainerRuntime> {
    this.#loaded ??= this.#dockerode();
    return this.#loaded;
  }

  async ping(): Promise<EngineInfo> {
    try {
      // `version` only: `info` would name the OS better but costs a slow round trip on every start.
      const { body } = await this.#http.request({ method: "GET", path: "/version" });
      const v = (body ?? {}) as { Version?: string; Os?: string; Arch?: string };
      return { version: v.Version ?? "unknown", os: `${v.Os ?? "unknown"}/${v.Arch ?? "unknown"}`, endpoint: this.#url };
    } catch (error) {
      throw pingFailure(this.#url, error);
    }
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    try {
      const { status, body } = await this.#http.request({ method: "GET", path: `/images/${encodeURIComponent(ref)}/json`, ok: [200, 404] });
      if (status === 404) return undefined;
      const info = body as { Id: string; Config?: { Labels?: Labels | null } };
      return { id: info.Id, labels: info.Config?.Labels ?? {} };
    } catch (error) {
      throw this.#fail(error, `inspect image ${ref}`);
    }
  }

  async buildImage(spec: ImageBuildSpec, onProgress: (line: string) => void): Promise<ImageInfo> {
    return (await this.#heavy()).buildImage(spec, onProgress);
  }

  async pullImage(ref: string, onProgress: (line: string) => void): Promise<void> {
    return (await this.#heavy()).pullImage(ref, onProgress);
  }

  async removeImage(id: string): Promise<void> {
    try {
      // 404: already gone; 409: a container (or another tag) still uses it — fine, it is not ours to force.
      await this.#http.request({ method: "DELETE", path: `/images/${encodeURIComponent(id)}`, ok: [200, 404, 409] });
    } catch (error) {
      throw this.#fail(error, `remove image ${id.slice(0, 19)}`);
    }
  }

  async pruneDanglingImages(labels: Labels): Promise<number> {
    try {
      const query = { filters: JSON.stringify({ dangling: ["true"], label: labelFilters(labels) }) };
      const { body } = await this.#http.request({ method: "POST", path: "/images/prune", query });
      return (body as { ImagesDeleted?: unknown[] | null }).ImagesDeleted?.length ?? 0;
    } catch (error) {
      throw this.#fail(error, "prune images");
    }
  }

  async ensureVolume(name: string, labels: Labels): Promise<void> {
    try {
      const { status } = await this.#http.request({ method: "GET", path: `/volumes/${encodeURIComponent(name)}`, ok: [200, 404] });
      if (status === 200) return;
      await this.#http.request({ method: "POST", path: "/volumes/create", body: { Name: name, Labels: labels } });
    } catch (error) {
      throw this.#fail(error, `create volume ${name}`);
    }
  }

  async listVolumes(labels: Labels): Promise<VolumeSummary[]> {
    try {
      const { body } = await this.#http.request({ method: "GET", path: "/volumes", query: { filters: filters(labels) } });
      const volumes = (body as { Volumes?: { Name: string; Labels?: Labels | null }[] | null }).Volumes ?? [];
      return volumes.map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
    } catch (error) {
      throw this.#fail(error, "list volumes");
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.#http.request({ method: "DELETE", path: `/volumes/${encodeURIComponent(name)}`, ok: [204, 404] });
    } catch (error) {
      throw this.#fail(error, `remove volume ${name}`);
    }
  }

  async listContainers(labels: Labels): Promise<ContainerSummary[]> {
    try {
      const { body } = await this.#http.request({ method: "GET", path: "/containers/json", query: { all: true, filters: filters(labels) } });
      return (body as { Id: string; Names?: string[]; Labels?: Labels | null; State: string }[]).map((c) => ({
        id: c.Id,
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ""),
        labels: c.Labels ?? {},
        state: c.State,
      }));
    } catch (error) {
      throw this.#fail(error, "list containers");
    }
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    try {
      const { body } = await this.#http.request({ method: "POST", path: "/containers/create", query: { name: spec.name }, body: containerCreateBody(spec) });
      return (body as { Id: string }).Id;
    } catch (error) {
      throw createFailure(this.#url, spec, error);
    }
  }

  async attach(id: string, options: AttachOptions): Promise<AttachHandle> {
    let socket;
    try {
      socket = await this.#http.hijack(`/containers/${id}/attach`, { stream: 1, stdin: options.stdin ? 1 : 0, stdout: 1, stderr: 1 });
    } catch (error) {
      throw this.#fail(error, `attach to container ${id.slice(0, 12)}`);
    }
    return forwardAttached(socket, options);
  }

  async startContainer(id: string): Promise<void> {
    try {
      // 304: already started.
      await this.#http.request({ method: "POST", path: `/containers/${id}/start`, ok: [204, 304] });
    } catch (error) {
      throw this.#fail(error, `start container ${id.slice(0, 12)}`);
    }
  }

  async waitContainer(id: string): Promise<number> {
    try {
      const { body } = await this.#http.request({ method: "POST", path: `/containers/${id}/wait` });
      return (body as { StatusCode?: number }).StatusCode ?? 1;
    } catch (error) {
      throw this.#fail(error, `wait for container ${id.slice(0, 12)}`);
    }
  }

  async signalContainer(id: string, signal: NodeJS.Signals): Promise<void> {
    try {
      // 404: gone; 409: not running; 304: already stopped — the wish is fulfilled.
      await this.#http.request({ method: "POST", path: `/containers/${id}/kill`, query: { signal }, ok: [204, 304, 404, 409] });
    } catch (error) {
      throw this.#fail(error, `signal container ${id.slice(0, 12)}`);
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      // 404: gone; 409 "removal already in progress": someone else is finishing the job.
      await this.#http.request({ method: "DELETE", path: `/containers/${id}`, query: { force: true, v: true }, ok: [204, 404, 409] });
    } catch (error) {
      throw this.#fail(error, `remove container ${id.slice(0, 12)}`);
    }
  }

  async inspectContainer(id: string): Promise<ContainerState | undefined> {
    try {
      const { status, body } = await this.#http.request({ method: "GET", path: `/containers/${id}/json`, ok: [200, 404] });
      if (status === 404) return undefined;
      const info = body as { Id: string; State: { Running: boolean; ExitCode?: number; Health?: { Status?: string } }; Config: { Labels?: Labels | null } };
      return {
        id: info.Id,
        running: info.State.Running,
        exitCode: info.State.Running ? undefined : info.State.ExitCode,
        health: info.State.Health?.Status,
        labels: info.Config.Labels ?? {},
      };
    } catch (error) {
      throw this.#fail(error, `inspect container ${id.slice(0, 12)}`);
    }
  }

  async resizeTty(id: string, size: { rows: number; columns: number }): Promise<void> {
    // A resize racing the container's exit is harmless.
    await this.#http.request({ method: "POST", path: `/containers/${id}/resize`, query: { h: size.rows, w: size.columns } }).catch(() => {});
  }
}

/** Every call waits for the dockerode runtime, loaded on the first (SSH engines). */
class LazyRuntime implements ContainerRuntime {
  #runtime: Promise<ContainerRuntime> | undefined;
  constructor(private readonly load: () => Promise<ContainerRuntime>) {}
  #get(): Promise<ContainerRuntime> {
    this.#runtime ??= this.load();
    return this.#runtime;
  }
  ping = async (): Promise<EngineInfo> => (await this.#get()).ping();
  inspectImage = async (ref: string): Promise<ImageInfo | undefined> => (await this.#get()).inspectImage(ref);
  buildImage = async (spec: ImageBuildSpec, onProgress: (line: string) => void): Promise<ImageInfo> => (await this.#get()).buildImage(spec, onProgress);
  pullImage = async (ref: string, onProgress: (line: string) => void): Promise<void> => (await this.#get()).pullImage(ref, onProgress);
  removeImage = async (id: string): Promise<void> => (await this.#get()).removeImage(id);
  pruneDanglingImages = async (labels: Labels): Promise<number> => (await this.#get()).pruneDanglingImages(labels);
  ensureVolume = async (name: string, labels: Labels): Promise<void> => (await this.#get()).ensureVolume(name, labels);
  listVolumes = async (labels: Labels): Promise<VolumeSummary[]> => (await this.#get()).listVolumes(labels);
  removeVolume = async (name: string): Promise<void> => (await this.#get()).removeVolume(name);
  listContainers = async (labels: Labels): Promise<ContainerSummary[]> => (await this.#get()).listContainers(labels);
  createContainer = async (spec: ContainerSpec): Promise<string> => (await this.#get()).createContainer(spec);
  attach = async (id: string, options: AttachOptions): Promise<AttachHandle> => (await this.#get()).attach(id, options);
  startContainer = async (id: string): Promise<void> => (await this.#get()).startContainer(id);
  waitContainer = async (id: string): Promise<number> => (await this.#get()).waitContainer(id);
  signalContainer = async (id: string, signal: NodeJS.Signals): Promise<void> => (await this.#get()).signalContainer(id, signal);
  removeContainer = async (id: string): Promise<void> => (await this.#get()).removeContainer(id);
  inspectContainer = async (id: string): Promise<ContainerState | undefined> => (await this.#get()).inspectContainer(id);
  resizeTty = async (id: string, size: { rows: number; columns: number }): Promise<void> => (await this.#get()).resizeTty(id, size);
}
