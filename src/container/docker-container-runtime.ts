/**
 * The dockerode implementation of `ContainerRuntime` — the only file in
 * flash-ts that imports dockerode. Used for image builds and pulls, and for
 * engines reached over SSH; the calls of every start go through
 * engine-runtime.ts, which does not pay for loading dockerode.
 */
import Docker from "dockerode";
import { AppError } from "../common/errors.js";
import type {
  AttachHandle,
  AttachOptions,
  ContainerSpec,
  ContainerState,
  ContainerSummary,
  EngineInfo,
  ImageBuildSpec,
  ImageInfo,
  Labels,
  NetworkInfo,
  VolumeSummary,
  WorkerContainerRuntime,
  WorkerContainerSpec,
} from "./container-runtime.js";
import type { DockerEndpoint } from "./docker-endpoint.js";
import { containerCreateBody, createFailure, engineFailure, engineMessage, labelFilters, pingFailure, statusOf } from "./engine-api.js";
import { forwardAttached } from "./engine-http.js";

/** Creates the runtime for one engine endpoint. No I/O until a method is called. */
export function createDockerContainerRuntime(endpoint: DockerEndpoint): WorkerContainerRuntime {
  return new DockerContainerRuntime(endpoint);
}

class DockerContainerRuntime implements WorkerContainerRuntime {
  private readonly docker: Docker;

  constructor(private readonly endpoint: DockerEndpoint) {
    this.docker = new Docker(toDockerOptions(endpoint));
  }

  /** Maps a failure to our codes; `action` completes "Could not …". */
  private fail(error: unknown, action: string): AppError {
    return engineFailure(this.endpoint.url, error, action);
  }

  async ping(): Promise<EngineInfo> {
    try {
      // `version` only: `info` would name the OS better but costs a slow round trip on every start.
      const version = (await this.docker.version()) as { Version?: string; Os?: string; Arch?: string };
      return { version: version.Version ?? "unknown", os: `${version.Os ?? "unknown"}/${version.Arch ?? "unknown"}`, endpoint: this.endpoint.url };
    } catch (error) {
      throw pingFailure(this.endpoint.url, error);
    }
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    try {
      const info = (await this.docker.getImage(ref).inspect()) as { Id: string; Config?: { Labels?: Labels | null } };
      return { id: info.Id, labels: info.Config?.Labels ?? {} };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.fail(error, `inspect image ${ref}`);
    }
  }

  async buildImage(spec: ImageBuildSpec, onProgress: (line: string) => void): Promise<ImageInfo> {
    const tail: string[] = [];
    const remember = (line: string): void => {
      tail.push(line);
      if (tail.length > 25) tail.shift();
    };
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.buildImage(
        { context: spec.contextDir, src: spec.files },
        { t: spec.tag, dockerfile: spec.dockerfile, labels: spec.labels, buildargs: spec.buildArgs, rm: true, forcerm: true },
      );
    } catch (error) {
      const mapped = this.fail(error, `build ${spec.tag}`);
      if (mapped.code === "DOCKER_UNAVAILABLE") throw mapped;
      throw new AppError("IMAGE_BUILD_FAILED", `Building the dev image ${spec.tag} failed: ${engineMessage(error)}`, { cause: error });
    }
    const buildError = await new Promise<string | undefined>((resolve) => {
      let failure: string | undefined;
      this.docker.modem.followProgress(
        stream,
        (error: Error | null) => resolve(failure ?? (error ? error.message : undefined)),
        (event: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
          if (event.error) {
            failure = event.errorDetail?.message ?? event.error;
            return;
          }
          const text = event.stream ?? event.status;
          if (!text) return;
          for (const line of text.split(/\r?\n/)) {
            const trimmed = line.trimEnd();
            if (!trimmed) continue;
            remember(trimmed);
            onProgress(trimmed);
          }
        },
      );
    });
    if (buildError !== undefined) {
      throw new AppError("IMAGE_BUILD_FAILED", `Building the dev image ${spec.tag} failed: ${buildError.trim()}`, {
        hint: `Last lines of the build:\n${tail.slice(-12).map((l) => `    ${l}`).join("\n")}`,
        details: { tag: spec.tag },
      });
    }
    const image = await this.inspectImage(spec.tag);
    if (!image) throw new AppError("IMAGE_BUILD_FAILED", `The build of ${spec.tag} finished but the engine has no such image.`);
    return image;
  }

  async pullImage(ref: string, onProgress: (line: string) => void): Promise<void> {
    try {
      const stream = (await this.docker.pull(ref)) as NodeJS.ReadableStream;
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (error: Error | null) => (error ? reject(error) : resolve()),
          (event: { status?: string; id?: string; error?: string }) => {
            if (event.error) reject(new Error(event.error));
            else if (event.status && !event.id) onProgress(event.status);
          },
        );
      });
    } catch (error) {
      throw this.fail(error, `pull ${ref}`);
    }
  }

  async removeImage(id: string): Promise<void> {
    try {
      await this.docker.getImage(id).remove({ noprune: false });
    } catch (error) {
      const status = statusOf(error);
      // 404: already gone; 409: a container (or another tag) still uses it — fine, it is not ours to force.
      if (status === 404 || status === 409) return;
      throw this.fail(error, `remove image ${id.slice(0, 19)}`);
    }
  }

  async pruneDanglingImages(labels: Labels): Promise<number> {
    try {
      const result = (await this.docker.pruneImages({ filters: { dangling: ["true"], label: labelFilters(labels) } })) as {
        ImagesDeleted?: unknown[] | null;
      };
      return result.ImagesDeleted?.length ?? 0;
    } catch (error) {
      throw this.fail(error, "prune images");
    }
  }

  async ensureVolume(name: string, labels: Labels): Promise<void> {
    try {
      await this.docker.getVolume(name).inspect();
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw this.fail(error, `inspect volume ${name}`);
    }
    try {
      await this.docker.createVolume({ Name: name, Labels: labels });
    } catch (error) {
      throw this.fail(error, `create volume ${name}`);
    }
  }

  async listVolumes(labels: Labels): Promise<VolumeSummary[]> {
    try {
      const result = await this.docker.listVolumes({ filters: { label: labelFilters(labels) } });
      return (result.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
    } catch (error) {
      throw this.fail(error, "list volumes");
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw this.fail(error, `remove volume ${name}`);
    }
  }

  async listContainers(labels: Labels): Promise<ContainerSummary[]> {
    try {
      const list = await this.docker.listContainers({ all: true, filters: { label: labelFilters(labels) } });
      return list.map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
        labels: c.Labels ?? {},
        state: c.State,
      }));
    } catch (error) {
      throw this.fail(error, "list containers");
    }
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    try {
      const container = await this.docker.createContainer({ name: spec.name, ...containerCreateBody(spec) } as Docker.ContainerCreateOptions);
      return container.id;
    } catch (error) {
      throw createFailure(this.endpoint.url, spec, error);
    }
  }

  async attach(id: string, options: AttachOptions): Promise<AttachHandle> {
    let stream: NodeJS.ReadWriteStream;
    try {
      stream = await this.docker.getContainer(id).attach({
        stream: true,
        stdin: options.stdin !== undefined,
        stdout: true,
        stderr: true,
        hijack: true,
      });
    } catch (error) {
      throw this.fail(error, `attach to container ${id.slice(0, 12)}`);
    }
    return forwardAttached(stream, options);
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (error) {
      if (statusOf(error) === 304) return; // already started
      throw this.fail(error, `start container ${id.slice(0, 12)}`);
    }
  }

  async waitContainer(id: string): Promise<number> {
    try {
      const result = (await this.docker.getContainer(id).wait()) as { StatusCode?: number };
      return result.StatusCode ?? 1;
    } catch (error) {
      throw this.fail(error, `wait for container ${id.slice(0, 12)}`);
    }
  }

  async signalContainer(id: string, signal: NodeJS.Signals): Promise<void> {
    try {
      await this.docker.getContainer(id).kill({ signal });
    } catch (error) {
      const status = statusOf(error);
      // 404: gone; 409: not running; 304: already stopped — the wish is fulfilled.
      if (status === 404 || status === 409 || status === 304) return;
      throw this.fail(error, `signal container ${id.slice(0, 12)}`);
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      const status = statusOf(error);
      // 404: gone; 409 "removal already in progress": someone else is finishing the job.
      if (status === 404 || status === 409) return;
      throw this.fail(error, `remove container ${id.slice(0, 12)}`);
    }
  }

  async inspectContainer(id: string): Promise<ContainerState | undefined> {
    try {
      const info = await this.docker.getContainer(id).inspect();
      const state = info.State as { Running: boolean; ExitCode?: number; Health?: { Status?: string } };
      return {
        id: info.Id,
        running: state.Running,
        exitCode: state.Running ? undefined : state.ExitCode,
        health: state.Health?.Status,
        labels: info.Config.Labels ?? {},
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.fail(error, `inspect container ${id.slice(0, 12)}`);
    }
  }

  async resizeTty(id: string, size: { rows: number; columns: number }): Promise<void> {
    try {
      await this.docker.getContainer(id).resize({ h: size.rows, w: size.columns });
    } catch {
      // A resize racing the container's exit is harmless.
    }
  }

  async ensureNetwork(name: string, options: { internal: boolean; labels: Labels }): Promise<NetworkInfo> {
    try {
      return toNetworkInfo(await this.docker.getNetwork(name).inspect());
    } catch (error) {
      if (statusOf(error) !== 404) throw this.fail(error, `inspect network ${name}`);
    }
    try {
      const created = await this.docker.createNetwork({ Name: name, Driver: "bridge", Internal: options.internal, Labels: options.labels, CheckDuplicate: true });
      return toNetworkInfo(await this.docker.getNetwork(created.id).inspect());
    } catch (error) {
      throw this.fail(error, `create network ${name}`);
    }
  }

  async listNetworks(labels: Labels): Promise<NetworkInfo[]> {
    try {
      const list = (await this.docker.listNetworks({ filters: { label: labelFilters(labels) } })) as NetworkInspect[];
      return list.map(toNetworkInfo);
    } catch (error) {
      throw this.fail(error, "list networks");
    }
  }

  async removeNetwork(nameOrId: string): Promise<void> {
    try {
      await this.docker.getNetwork(nameOrId).remove();
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw this.fail(error, `remove network ${nameOrId}`);
    }
  }

  async createWorkerContainer(spec: WorkerContainerSpec): Promise<string> {
    try {
      const container = await this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        ...(spec.cmd ? { Cmd: spec.cmd } : {}),
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        Labels: spec.labels,
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: { NetworkMode: spec.network, AutoRemove: false },
      });
      return container.id;
    } catch (error) {
      if (statusOf(error) === 404) {
        // 404 on create: the engine has no such image (the network exists: we made it just before).
        throw new AppError("CONTAINER_FAILED", `the image ${spec.image} is not in the Docker engine`, {
          hint: `Build or pull it first (docker pull ${spec.image}); the emulator never pulls images.`,
          details: { imageMissing: true, image: spec.image },
          cause: error,
        });
      }
      throw this.fail(error, `create container ${spec.name}`);
    }
  }

  async containerAddress(id: string, network: string): Promise<string | undefined> {
    try {
      const info = (await this.docker.getContainer(id).inspect()) as { NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> } };
      const address = info.NetworkSettings?.Networks?.[network]?.IPAddress;
      return address ? address : undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.fail(error, `inspect container ${id.slice(0, 12)}`);
    }
  }
}

interface NetworkInspect {
  Id: string;
  Name: string;
  Labels?: Labels | null;
  IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] | null };
}

function toNetworkInfo(info: NetworkInspect): NetworkInfo {
  const config = info.IPAM?.Config?.[0];
  return { id: info.Id, name: info.Name, gateway: config?.Gateway, subnet: config?.Subnet, labels: info.Labels ?? {} };
}


function toDockerOptions(endpoint: DockerEndpoint): Docker.DockerOptions {
  switch (endpoint.kind) {
    case "socket":
      return { socketPath: endpoint.path };
    case "ssh":
      return { protocol: "ssh", host: endpoint.host, port: endpoint.port, ...(endpoint.username ? { username: endpoint.username } : {}) };
    case "tcp":
      return {
        protocol: endpoint.tls ? "https" : "http",
        host: endpoint.host,
        port: endpoint.port,
        ...(endpoint.tls?.ca ? { ca: endpoint.tls.ca } : {}),
        ...(endpoint.tls?.cert ? { cert: endpoint.tls.cert } : {}),
        ...(endpoint.tls?.key ? { key: endpoint.tls.key } : {}),
      };
  }
}
