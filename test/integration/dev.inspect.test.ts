/**
 * Issue acceptance (debugging): `flash dev --inspect=<port>` starts each
 * local worker with a Node inspector on 127.0.0.1, and a debugger attached
 * through the Chrome DevTools protocol stops at a breakpoint set by file and
 * line in a remote function's .ts source. The client here does what an
 * editor does: it reads the worker module's inline source map (which must
 * lead to the project's own file), sets the breakpoint at the generated
 * position, and maps the paused position back. While the call is paused, its
 * execution timeout passes without ending it.
 */
import { mkdtemp, mkdir, realpath, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { removeProject, startDevProcess } from "../helpers/dev-process.js";
import type { DevProcess } from "../helpers/dev-process.js";
import { killProcesses, startCli } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const KEY = "emulator-key-for-the-inspect-test";
/** The function: the breakpoint goes on line 9 (`const sum = …`), below lines the compiled code no longer has. */
const SOURCE = [
  'import { remote, LiveServerless } from "flash-ts";',
  "",
  "interface Pair {",
  "  a: number;",
  "  b: number;",
  "}",
  "",
  'export const add = remote(new LiveServerless({ name: "dbg", executionTimeoutMs: 2000 }), async (input: Pair) => {',
  "  const sum = input.a + input.b;",
  "  return { sum };",
  "});",
  "",
].join("\n");
const BREAK_LINE = 9;
const TIMEOUT_MS = 2000;

let dir: string;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "flash-inspect-")));
  await mkdir(join(dir, "workers"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  await writeFile(join(dir, "workers", "dbg.ts"), SOURCE);
});

afterEach(async () => {
  await killProcesses();
});

afterAll(async () => {
  await removeProject(dir);
});

/** A port nothing listens on now, whose next 15 are valid ports too. */
async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
    await new Promise((resolve) => server.close(resolve));
    if (port <= 65520) return port;
  }
}

// --- source maps: what a debugger does with a script's inline map ---

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** One mapping: generated line/column → source index, original line/column (all 0-based). */
interface Mapping {
  genLine: number;
  genCol: number;
  source: number;
  line: number;
  col: number;
}

function decodeMappings(mappings: string): Mapping[] {
  const out: Mapping[] = [];
  let source = 0;
  let line = 0;
  let col = 0;
  mappings.split(";").forEach((group, genLine) => {
    let genCol = 0;
    for (const segment of group.split(",")) {
      if (!segment) continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      genCol += values[0]!;
      if (values.length < 4) continue;
      source += values[1]!;
      line += values[2]!;
      col += values[3]!;
      out.push({ genLine, genCol, source, line, col });
    }
  });
  return out;
}

interface SourceMap {
  sources: string[];
  sourceRoot?: string;
  mappings: string;
}

function readInlineMap(sourceMapURL: string): SourceMap | undefined {
  const match = /^data:application\/json(?:;charset=[^;,]+)?;base64,(.*)$/.exec(sourceMapURL);
  return match ? (JSON.parse(Buffer.from(match[1]!, "base64").toString("utf8")) as SourceMap) : undefined;
}

/** The sources as a debugger resolves them: against the source root, else the script's URL. */
function resolvedSources(map: SourceMap, scriptUrl: string): string[] {
  return map.sources.map((s) => new URL((map.sourceRoot ?? "") + s, scriptUrl).href);
}

// --- the Chrome DevTools protocol over the inspector's WebSocket ---

interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
}

class Cdp {
  readonly events: CdpEvent[] = [];
  #id = 0;
  readonly #pending = new Map<number, { resolve(value: Record<string, unknown>): void; reject(error: Error): void }>();
  readonly #waiters = new Set<() => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown> };
      if (message.id !== undefined) {
        const call = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) call?.reject(new Error(message.error.message));
        else call?.resolve(message.result ?? {});
      } else if (message.method) {
        this.events.push({ method: message.method, params: message.params ?? {} });
        for (const wake of [...this.#waiters]) wake();
      }
    });
  }

  static connect(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(new Cdp(ws)), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.#id;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  /** The first event (from `from` on) that `match` accepts. */
  next(match: (event: CdpEvent) => boolean, from = 0, timeoutMs = 30_000): Promise<CdpEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.slice(from).find(match);
        if (!found) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no matching CDP event in ${timeoutMs} ms (${this.events.length - from} events seen)`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  close(): void {
    this.ws.close();
  }
}

describe("flash dev --inspect", () => {
  let dev: DevProcess;

  afterEach(async () => {
    await dev?.stop();
  });

  it("stops at a breakpoint set by file and line in a remote function's .ts source, and the paused call outlives its execution timeout", async () => {
    const base = await freePort();
    dev = await startDevProcess(dir, [`--inspect=${base}`], { FLASH_EMULATOR_API_KEY: KEY });
    expect(dev.output()).toContain(`workers' inspectors on 127.0.0.1:${base} (the first worker; the next on ${base + 1}, … up to ${base + 15})`);
    const emulator = (await dev.waitForOutput(/local emulator at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const post = (input: unknown): Promise<Response> =>
      fetch(`${dev.url}/workers/dbg/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input }) });

    // The first call starts the worker, with its inspector on the first port.
    const first = await post({ a: 1, b: 2 });
    expect(first.status).toBe(200);
    const listening = await dev.waitForOutput(/\[live-dbg\] Debugger listening on (ws:\/\/127\.0\.0\.1:(\d+)\/\S+)/);
    expect(Number(listening[2])).toBe(base);

    const cdp = await Cdp.connect(listening[1]!);
    try {
      await cdp.send("Debugger.enable");
      // The worker's module of workers/dbg.ts: its map's sources lead to the project's own file.
      const wanted = pathToFileURL(join(dir, "workers", "dbg.ts")).href;
      const parsed = await cdp.next((e) => {
        if (e.method !== "Debugger.scriptParsed" || typeof e.params.sourceMapURL !== "string") return false;
        const map = readInlineMap(e.params.sourceMapURL);
        return map !== undefined && resolvedSources(map, String(e.params.url)).includes(wanted);
      });
      const map = readInlineMap(String(parsed.params.sourceMapURL))!;
      const sourceIndex = resolvedSources(map, String(parsed.params.url)).indexOf(wanted);
      const mappings = decodeMappings(map.mappings);
      const target = mappings.find((m) => m.source === sourceIndex && m.line === BREAK_LINE - 1);
      expect(target, "a mapping for the breakpoint's line").toBeDefined();
      await cdp.send("Debugger.setBreakpoint", { location: { scriptId: parsed.params.scriptId, lineNumber: target!.genLine, columnNumber: target!.genCol } });

      const from = cdp.events.length;
      const paused = post({ a: 20, b: 22 });
      const stop = await cdp.next((e) => e.method === "Debugger.paused", from);
      const frame = (stop.params.callFrames as { callFrameId: string; location: { scriptId: string; lineNumber: number; columnNumber: number } }[])[0]!;
      expect(frame.location.scriptId).toBe(parsed.params.scriptId);
      // Mapped back as an editor shows it: workers/dbg.ts, line 9.
      const at = mappings.filter((m) => m.genLine === frame.location.lineNumber && m.genCol <= frame.location.columnNumber).at(-1)!;
      expect(resolvedSources(map, String(parsed.params.url))[at.source]).toBe(wanted);
      expect(at.line + 1).toBe(BREAK_LINE);
      const value = await cdp.send("Debugger.evaluateOnCallFrame", { callFrameId: frame.callFrameId, expression: "input.a + input.b" });
      expect((value.result as { value: number }).value).toBe(42);

      // Held past its execution timeout (as the emulator measures the job), the call is still running.
      const auth = { authorization: `Bearer ${KEY}` };
      const job = await waitFor("the paused job on the emulator", async () => {
        const state = (await (await fetch(`${emulator}/__emulator/state`, { headers: auth })).json()) as { endpoints: { id: string; name: string; workers: { jobs: string[] }[] }[] };
        const endpoint = state.endpoints.find((e) => e.name === "live-dbg");
        const id = endpoint?.workers.flatMap((w) => w.jobs)[0];
        return endpoint && id ? { endpoint: endpoint.id, id } : undefined;
      });
      const held = await waitFor(
        `the paused job to end or to run ${2 * TIMEOUT_MS} ms`,
        async () => {
          const status = (await (await fetch(`${emulator}/v2/${job.endpoint}/status/${job.id}`, { headers: auth })).json()) as { status: string; executionTime: number };
          return status.status !== "IN_PROGRESS" || status.executionTime > 2 * TIMEOUT_MS ? status : undefined;
        },
        30_000,
        100,
      );
      expect(held.status, JSON.stringify(held)).toBe("IN_PROGRESS");

      await cdp.send("Debugger.resume");
      const answer = await paused;
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ status: "COMPLETED", output: { sum: 42 } });
    } finally {
      cdp.close();
    }
  });

  it("refuses a port that is taken, naming it", async () => {
    const server: Server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
    try {
      const run = startCli(["dev", "--no-container", "--port", "0", `--inspect=${port}`], { cwd: dir, env: { FLASH_CONTAINER: "0" } });
      expect(await run.closed).toBe(1);
      expect(run.stderr()).toContain(`--inspect: port ${port} on 127.0.0.1 is in use`);
      expect(run.stderr()).toContain("Pass --inspect=<port> with a free port");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
