/**
 * What container workers may reach besides the emulator (docs/internals.md,
 * "The emulator"). Their Docker network is internal: the only thing they can
 * reach is the host, at the network's gateway address, where the emulator
 * listens — and this proxy, which lets them out as far as the policy says:
 *
 * - `public` (default): any host on the internet, as a Runpod worker can,
 *   but never an address of this machine or a private network, so an
 *   endpoint's code cannot reach the developer's services or LAN;
 * - `none`: nothing at all;
 * - a list of host names (`registry.npmjs.org,.debian.org`): those only.
 *
 * It speaks both forms HTTP clients use with HTTP_PROXY / HTTPS_PROXY: CONNECT
 * tunnels (https, npm) and absolute-URI requests (plain http, apt).
 */
import { lookup } from "node:dns/promises";
import { createServer, request as httpRequest } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { BlockList, connect, isIP } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { AppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";

export type EgressPolicy = { kind: "none" } | { kind: "public" } | { kind: "hosts"; hosts: string[] };

/** Parses `none`, `public` or a comma-separated list of host names (a leading `.` allows subdomains). */
export function parseEgressPolicy(text: string | undefined): EgressPolicy {
  const value = (text ?? "").trim().toLowerCase();
  if (value === "" || value === "public") return { kind: "public" };
  if (value === "none") return { kind: "none" };
  const hosts = value.split(",").map((h) => h.trim()).filter((h) => h !== "");
  for (const host of hosts) {
    if (!/^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)) {
      throw new AppError("INVALID_INPUT", `worker egress: ${JSON.stringify(host)} is not a host name`, { hint: "Use none, public, or host names separated by commas (e.g. registry.npmjs.org,.debian.org)." });
    }
  }
  return { kind: "hosts", hosts };
}

/** Private, loopback, link-local and shared ranges: never reached under the `public` policy. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv6");
}

function isOwnAddress(address: string): boolean {
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === address));
}

/** Tunnels and forwarded requests at once; more are refused with 503 (workers retry). */
const MAX_CONNECTIONS = 512;

export interface EgressProxy {
  /** `http://<host>:<port>`, for HTTP_PROXY / HTTPS_PROXY. */
  readonly url: string;
  close(): Promise<void>;
}

export interface EgressProxyOptions {
  /** Address to listen on (the workers' network gateway). */
  host: string;
  policy: EgressPolicy;
  logger: Logger;
}

export async function startEgressProxy(options: EgressProxyOptions): Promise<EgressProxy> {
  const { policy, logger } = options;
  const sockets = new Set<Socket>();
  const seen = new Set<string>();
  /** Each destination is logged once (info), so what workers reach stays visible without flooding the log. */
  const note = (what: string): void => {
    if (seen.has(what)) return logger.debug(`worker egress: ${what}`);
    if (seen.size < 1000) seen.add(what);
    logger.info(`worker egress: ${what}`);
  };

  /** The address to connect to, or a reason to refuse. */
  async function resolveTarget(host: string): Promise<{ address: string } | { refused: string }> {
    const name = host.toLowerCase().replace(/^\[|\]$/g, "");
    if (policy.kind === "none") return { refused: "the emulator's worker egress policy is none" };
    if (policy.kind === "hosts" && !policy.hosts.some((h) => (h.startsWith(".") ? name.endsWith(h) || name === h.slice(1) : name === h))) {
      return { refused: `${name} is not in the emulator's worker egress list (${policy.hosts.join(", ")})` };
    }
    let address: string;
    try {
      address = isIP(name) ? name : (await lookup(name)).address;
    } catch (error) {
      return { refused: `cannot resolve ${name}: ${(error as Error).message}` };
    }
    if (policy.kind === "public") {
      // An IPv4-mapped IPv6 address is judged as the IPv4 address it stands for.
      address = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
      const family = isIP(address) === 6 ? "ipv6" : "ipv4";
      if (PRIVATE.check(address, family) || isOwnAddress(address)) return { refused: `${name} (${address}) is on this machine or a private network, which workers may not reach` };
    }
    return { address };
  }

  function refuse(res: ServerResponse, reason: string): void {
    logger.warn(`worker egress refused: ${reason}`);
    res.writeHead(403, { "content-type": "text/plain" }).end(`${reason}\n`);
  }

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let target: URL;
    try {
      target = new URL(req.url ?? "");
    } catch {
      res.writeHead(400).end("this proxy takes absolute http:// URLs and CONNECT\n");
      return;
    }
    if (target.protocol !== "http:") {
      res.writeHead(400).end("use CONNECT for https\n");
      return;
    }
    const resolved = await resolveTarget(target.hostname);
    if ("refused" in resolved) return refuse(res, resolved.refused);
    note(`http://${target.host}`);
    const upstream = httpRequest(
      { host: resolved.address, port: target.port || 80, method: req.method, path: target.pathname + target.search, headers: { ...req.headers, host: target.host }, setHost: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502).end(`${error.message}\n`);
      else res.destroy();
    });
    req.pipe(upstream);
  }

  async function tunnel(req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
    const [host = "", portText = "443"] = (req.url ?? "").split(/:(?=\d+$)/);
    const resolved = await resolveTarget(host);
    if ("refused" in resolved) {
      logger.warn(`worker egress refused: ${resolved.refused}`);
      client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\n${resolved.refused}\n`);
      return;
    }
    note(`${host}:${portText}`);
    const upstream = connect(Number(portText), resolved.address, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    const end = (): void => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on("error", end);
    client.on("error", end);
  }

  const server: Server = createServer((req, res) => {
    if (sockets.size >= MAX_CONNECTIONS) return void res.writeHead(503).end("too many connections through the emulator's egress proxy\n");
    void forward(req, res);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (sockets.size > MAX_CONNECTIONS) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\n\r\ntoo many connections through the emulator's egress proxy\n");
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    void tunnel(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host}:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
