/**
 * Load-balanced mode end to end: a real `flash worker` process with PORT set
 * serves GET /ping and POST /execute, and drains on SIGTERM.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseFunctionResponse } from "../../src/common/function-protocol.js";
import { bundle, makeRequest, resultOf, tempDir, unique } from "../helpers/worker-bundles.js";
import { killWorkerProcesses, startWorkerProcess } from "../helpers/worker-process.js";
import type { WorkerProcess } from "../helpers/worker-process.js";

let cache: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  cache = await tempDir();
});
afterEach(async () => {
  await killWorkerProcesses();
  await cache.remove();
});

async function startLb(extra: Record<string, string> = {}): Promise<{ worker: WorkerProcess; base: string }> {
  const worker = startWorkerProcess([], { PORT: "0", FLASH_WORKER_HOST: "127.0.0.1", FLASH_WORKER_CACHE: cache.path, ...extra });
  const [, url] = await worker.waitForStderr(/listening on (http:\/\/\S+)/);
  return { worker, base: url as string };
}

/** Polls the health check until it says ready (the condition, not a fixed sleep). */
async function waitReady(base: string, path = "/ping"): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${base}${path}`);
    statuses.push(res.status);
    if (res.status === 200) {
      expect(await res.json()).toEqual({ status: "healthy" });
      return statuses;
    }
    await res.arrayBuffer();
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never ready: ${statuses.join(",")}`);
}

const header = `import { remote, CpuLiveLoadBalancer } from "flash-ts";\nconst api = new CpuLiveLoadBalancer({ name: "api" });\n`;

describe("flash worker in load-balanced mode", () => {
  it("answers /ping 204 until ready, then 200 {status: healthy}", async () => {
    const { worker, base } = await startLb();
    const statuses = await waitReady(base);
    expect(statuses.every((s) => s === 204 || s === 200)).toBe(true);
    expect(statuses.at(-1)).toBe(200);
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("honours HEALTH_CHECK_PATH", async () => {
    const { worker, base } = await startLb({ HEALTH_CHECK_PATH: "/healthz" });
    await waitReady(base, "/healthz");
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("runs POST /execute with a FunctionRequest and answers the FunctionResponse", async () => {
    const { worker, base } = await startLb();
    await waitReady(base);
    const mod = bundle(`${header}// ${unique()}\nexport const process = remote(api, { method: "POST", path: "/process" }, async (body) => ({ status: "success", echo: body, big: 2n ** 70n }));`, "api.ts", ["process"]);
    const post = (body: unknown) => fetch(`${base}/execute`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

    const missing = parseFunctionResponse(await (await post(makeRequest(mod, "api.ts", "process", [{ a: 1 }], { withCode: false }))).json());
    expect(!missing.ok && missing.error.kind).toBe("module-missing");
    const res = await post(makeRequest(mod, "api.ts", "process", [{ a: 1 }]));
    expect(res.status).toBe(200);
    expect(resultOf(parseFunctionResponse(await res.json()))).toEqual({ status: "success", echo: { a: 1 }, big: 2n ** 70n });

    const invalid = await post({ flash: 1, module: {} });
    expect(invalid.status).toBe(422);
    expect(((await invalid.json()) as { error: { code: string } }).error.code).toBe("INVALID_INPUT");
    worker.signal("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("on SIGTERM finishes the request in flight, then exits 0", async () => {
    const { worker, base } = await startLb();
    await waitReady(base);
    const mod = bundle(
      `${header}// ${unique()}\nexport const slow = remote(api, { method: "POST", path: "/slow" }, async () => { process.stderr.write("slow call started\\n"); await new Promise((r) => setTimeout(r, 400)); return "done"; });`,
      "slow.ts",
      ["slow"],
    );
    const pending = fetch(`${base}/execute`, { method: "POST", body: JSON.stringify(makeRequest(mod, "slow.ts", "slow")) });
    await worker.waitForStderr(/slow call started/);
    worker.signal("SIGTERM");
    const res = await pending;
    expect(res.status).toBe(200);
    expect(resultOf(parseFunctionResponse(await res.json()))).toBe("done");
    expect(await worker.exited).toBe(0);
  });

  it("refuses --handler in load-balanced mode with a clear message", async () => {
    const worker = startWorkerProcess(["--handler", "x.mjs"], { PORT: "0", FLASH_WORKER_CACHE: cache.path });
    expect(await worker.exited).toBe(1);
    expect(worker.stderr).toMatch(/--handler runs queue-based workers/);
  });
});
