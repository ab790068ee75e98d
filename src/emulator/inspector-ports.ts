/**
 * Inspector ports of process workers under `flash dev --inspect`
 * (docs/internals.md, "Debugging"): a worker gets the lowest port of
 * `basePort … basePort + count - 1` that no other worker holds and nothing
 * else listens on, so the first worker is always on `basePort` (where an
 * editor's attach configuration points) and the range is bounded. The port
 * is free again when the worker exits.
 */
import { createServer } from "node:net";

export interface InspectSettings {
  /** Where inspectors listen: 127.0.0.1 (flash dev refuses anything else). */
  host: string;
  basePort: number;
  /** How many ports, from basePort on. */
  count: number;
}

/** True when nothing listens on `host:port` (a listen there succeeds). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export class InspectorPorts {
  readonly #held = new Set<number>();

  constructor(
    readonly settings: InspectSettings,
    private readonly probe: (host: string, port: number) => Promise<boolean> = isPortFree,
  ) {}

  /** The last port of the range. */
  get lastPort(): number {
    return this.settings.basePort + this.settings.count - 1;
  }

  /** Takes the lowest free port of the range; undefined when every one is held or in use. */
  async take(): Promise<number | undefined> {
    const { host, basePort, count } = this.settings;
    for (let port = basePort; port < basePort + count; port++) {
      if (this.#held.has(port)) continue;
      // Held while it is probed, so two workers starting at once never get the same port.
      this.#held.add(port);
      if (await this.probe(host, port)) return port;
      this.#held.delete(port);
    }
    return undefined;
  }

  release(port: number): void {
    this.#held.delete(port);
  }
}
