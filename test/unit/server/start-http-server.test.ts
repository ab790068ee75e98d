import { Agent, request } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { hasCode } from "../../../src/common/errors.js";
import { findFreePort, startHttpServer, urlHost } from "../../../src/server/start-http-server.js";
import type { RequestHandlerFactory } from "../../../src/server/start-http-server.js";

const hello: RequestHandlerFactory = { callback: () => (_req: IncomingMessage, res: ServerResponse) => res.end("ok") };

const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(blockers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function occupy(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(undefined));
    s.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      blockers.push(s);
      resolve(s);
    });
  });
}

/** Occupies `count` consecutive ports and returns the first. */
async function occupyRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await occupy(0);
    const base = (first!.address() as AddressInfo).port;
    if (base + count > 65535) continue;
    let ok = true;
    for (let p = base + 1; p < base + count && ok; p++) ok = (await occupy(p)) !== undefined;
    if (ok) return base;
  }
  throw new Error("could not occupy a port range");
}

describe("startHttpServer", () => {
  it("listens on port 0 and reports the URL and port", async () => {
    const server = await startHttpServer(hello, { host: "127.0.0.1", port: 0 });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(await (await fetch(server.url)).text()).toBe("ok");
    await server.close();
  });

  it("close is idempotent and does not wait for idle keep-alive sockets", async () => {
    const server = await startHttpServer(hello, { host: "127.0.0.1", port: 0, closeGraceMs: 60_000 });
    const agent = new Agent({ keepAlive: true });
    // Wait until the response is read and the socket sits idle in the agent's pool.
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = request(server.url, { agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(req.socket!));
      });
      req.on("error", reject);
      req.end();
    });
    const socketClosed = new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
    await socketClosed;
    await server.close();
    agent.destroy();
  });

  it("cuts in-flight requests after the grace period", async () => {
    let arrived!: () => void;
    const reached = new Promise<void>((r) => (arrived = r));
    const app: RequestHandlerFactory = { callback: () => () => arrived() }; // never answers
    const server = await startHttpServer(app, { host: "127.0.0.1", port: 0, closeGraceMs: 50 });
    const failed = fetch(server.url).then(
      () => "answered",
      () => "cut",
    );
    await reached;
    await server.close();
    expect(await failed).toBe("cut");
  });

  it("a taken port is PORT_IN_USE", async () => {
    const base = await occupyRange(1);
    const error = await startHttpServer(hello, { host: "127.0.0.1", port: base }).catch((e: unknown) => e);
    expect(hasCode(error, "PORT_IN_USE")).toBe(true);
    expect((error as Error).message).toContain(String(base));
  });

  it("formats wildcard and IPv6 hosts for URLs", () => {
    expect(urlHost("0.0.0.0")).toBe("localhost");
    expect(urlHost("::")).toBe("localhost");
    expect(urlHost("::1")).toBe("[::1]");
    expect(urlHost("localhost")).toBe("localhost");
  });
});

describe("findFreePort", () => {
  it("returns the requested port when free", async () => {
    const s = await occupy(0);
    const port = (s!.address() as AddressInfo).port;
    await new Promise((r) => s!.close(r));
    blockers.splice(blockers.indexOf(s!), 1);
    expect(await findFreePort("127.0.0.1", port)).toEqual({ port, requested: port, moved: false });
  });

  it("moves past a taken port and says so", async () => {
    const base = await occupyRange(2);
    const found = await findFreePort("127.0.0.1", base);
    expect(found.moved).toBe(true);
    expect(found.requested).toBe(base);
    expect(found.port).toBeGreaterThan(base + 1);
  });

  it("throws PORT_IN_USE naming the range when every port in it is taken", async () => {
    const base = await occupyRange(3);
    const error = await findFreePort("127.0.0.1", base, 3).catch((e: unknown) => e);
    expect(hasCode(error, "PORT_IN_USE")).toBe(true);
    expect((error as Error).message).toBe(`Ports ${base}–${base + 2} on 127.0.0.1 are all in use`);
  });

  it("with port 0, gives a port the system picked, which can then be bound", async () => {
    const found = await findFreePort("127.0.0.1", 0);
    expect(found).toMatchObject({ requested: 0, moved: false });
    expect(found.port).toBeGreaterThan(0);
    const s = await occupy(found.port);
    expect(s).toBeDefined();
  });
});
