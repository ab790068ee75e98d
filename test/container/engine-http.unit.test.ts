/** The Engine API client on node:http, against a stand-in engine on a unix socket. */
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demultiplex, EngineHttp, EngineStatusError } from "../../src/container/engine-http.js";
import { engineFailure } from "../../src/container/engine-api.js";

/** A Docker stream frame: stream id (1 stdout, 2 stderr), three zero bytes, the length, the payload. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function collector(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

describe("the Engine API client", () => {
  let dir: string;
  let server: Server;
  let engine: EngineHttp;
  const seen: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "flash-engine-"));
    const socketPath = join(dir, "docker.sock");
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        if (req.url === "/version") return void res.writeHead(200, { "content-type": "application/json" }).end('{"Version":"27.0.1","Os":"linux","Arch":"amd64"}');
        if (req.url?.startsWith("/images/missing")) return void res.writeHead(404, { "content-type": "application/json" }).end('{"message":"No such image: missing"}');
        if (req.url?.startsWith("/containers/create")) {
          return void res.writeHead(500, { "content-type": "application/json" }).end('{"message":"driver failed programming external connectivity: Bind for 127.0.0.1:8888 failed: port is already allocated"}');
        }
        res.writeHead(204).end();
      });
    });
    // Docker's attach: 101, then the raw multiplexed stream on the same connection.
    server.on("upgrade", (req, socket) => {
      seen.push(`UPGRADE ${req.url}`);
      socket.write("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
      socket.write(Buffer.concat([frame(1, "hello "), frame(2, "oops")]));
      socket.end(frame(1, "world"));
    });
    await new Promise<void>((r) => server.listen(socketPath, r));
    engine = new EngineHttp({ kind: "socket", path: socketPath, url: `unix://${socketPath}` });
  });
  afterAll(async () => {
    engine.close();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends JSON requests with a query and reads JSON answers", async () => {
    await expect(engine.request({ method: "GET", path: "/version" })).resolves.toEqual({ status: 200, body: { Version: "27.0.1", Os: "linux", Arch: "amd64" } });
    await engine.request({ method: "POST", path: "/containers/abc/kill", query: { signal: "SIGINT", skip: undefined } });
    expect(seen).toContain("POST /containers/abc/kill?signal=SIGINT ");
  });

  it("accepts the statuses it is told to, and turns others into errors carrying the engine's message", async () => {
    await expect(engine.request({ method: "GET", path: "/images/missing/json", ok: [200, 404] })).resolves.toMatchObject({ status: 404 });
    const error = await engine.request({ method: "POST", path: "/containers/create", body: { Image: "x" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineStatusError);
    expect(engineFailure("unix:///x", error, "start the container")).toMatchObject({ code: "PORT_IN_USE" });
  });

  it("attaches through an upgraded connection and splits stdout from stderr", async () => {
    const socket = await engine.hijack("/containers/abc/attach", { stream: 1, stdout: 1, stderr: 1 });
    const out = collector();
    const err = collector();
    demultiplex(socket, out.stream, err.stream);
    await new Promise((r) => socket.once("end", r));
    expect(out.text()).toBe("hello world");
    expect(err.text()).toBe("oops");
    expect(seen).toContain("UPGRADE /containers/abc/attach?stream=1&stdout=1&stderr=1");
  });

  it("reassembles frames split across chunks", () => {
    const source = new PassThrough();
    const out = collector();
    const err = collector();
    demultiplex(source, out.stream, err.stream);
    const bytes = Buffer.concat([frame(1, "abc"), frame(2, "de"), frame(1, "f")]);
    for (let i = 0; i < bytes.length; i += 3) source.write(bytes.subarray(i, i + 3));
    expect([out.text(), err.text()]).toEqual(["abcf", "de"]);
  });

  it("reports an engine that is not there as DOCKER_UNAVAILABLE", async () => {
    const nowhere = new EngineHttp({ kind: "socket", path: join(dir, "none.sock"), url: "unix:///none.sock" });
    const error = await nowhere.request({ method: "GET", path: "/version" }).catch((e: unknown) => e);
    expect(engineFailure("unix:///none.sock", error, "reach the engine")).toMatchObject({ code: "DOCKER_UNAVAILABLE" });
    nowhere.close();
  });
});
