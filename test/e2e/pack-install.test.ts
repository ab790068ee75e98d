/**
 * Ship a package, not a repository: `npm pack` this repo, install the tarball
 * into a fresh project that is not examples/hello, and use it the way a user
 * does — `node_modules/.bin/flash dev`, `flash emulator`, `flash worker` —
 * with the SDK, the worker runtime, the emulator, the dev image's Dockerfile
 * and the /docs assets all coming from the installed package.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import { CLI } from "../helpers/processes.js";
import { packedFlashTs } from "./packed-flash-ts.js";
import type { DevProcess } from "../helpers/dev-process.js";

const run = promisify(execFile);
let work: string;
let project: string;
let dev: DevProcess | undefined;

const files: Record<string, string> = {
  "package.json": JSON.stringify({ name: "acme-orders", private: true, type: "module" }, null, 2),
  ".env": "GREETING=hej\n",
  "src/api/orders.ts": `import { remote, CpuLiveLoadBalancer } from "flash-ts";
import { priceOf } from "../lib/pricing";
const api = new CpuLiveLoadBalancer({ name: "orders-api" });
export const getOrder = remote(api, { method: "GET", path: "/orders/:id" }, async (q: { id: string; currency?: string }) => ({
  id: q.id,
  total: priceOf(Number(q.id)),
  currency: q.currency ?? "EUR",
}));
`,
  "src/lib/pricing.ts": `export const priceOf = (n: number): number => n * 100 + 1;\n`,
  "jobs/thumbnails.ts": `import { remote, LiveServerless, GpuGroup } from "flash-ts";
const gpu = new LiveServerless({ name: "thumbs", gpus: [GpuGroup.AMPERE_24] });
@remote(gpu)
export class Thumbnailer {
  async render(input: { width: number }) {
    return { width: input.width, at: new Date(0).toISOString(), greeting: process.env.GREETING ?? null };
  }
}
`,
  "handler.mjs": `export default async function handler(job) { return { doubled: job.input.n * 2 }; }\n`,
};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "flash-pack-"));
  const tarball = await packedFlashTs();
  project = join(work, "acme-orders");
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(project, name, ".."), { recursive: true });
    await writeFile(join(project, name), text);
  }
  await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: project, maxBuffer: 16 * 1024 * 1024 });
}, 300_000);

afterAll(async () => {
  await dev?.stop();
  await rm(work, { recursive: true, force: true });
});

describe("flash-ts installed from npm pack into a fresh project", () => {
  it("flash init from the installed package writes the same project as this repository's CLI (the templates ship)", async () => {
    const flash = join(project, "node_modules", ".bin", "flash");
    const fromPackage = join(work, "from-package");
    const fromRepo = join(work, "from-repo");
    await run(flash, ["init", fromPackage, "--name", "same"], { cwd: work });
    await run(process.execPath, [CLI, "init", fromRepo, "--name", "same"], { cwd: work });
    const files = async (dir: string): Promise<Record<string, string>> => {
      const out: Record<string, string> = {};
      for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
        if (entry.isFile()) out[join(entry.parentPath, entry.name).slice(dir.length + 1)] = await readFile(join(entry.parentPath, entry.name), "utf8");
      }
      return out;
    };
    const packaged = await files(fromPackage);
    expect(Object.keys(packaged)).toEqual(expect.arrayContaining(["package.json", "gpu_worker.ts", "pipeline.ts", ".gitignore", "compose.yaml", join(".devcontainer", "devcontainer.json")]));
    expect(packaged).toEqual(await files(fromRepo));
  });

  it("ships the CLI, the SDK types, the Dockerfile and the docs assets", async () => {
    const pkg = join(project, "node_modules", "flash-ts");
    expect(existsSync(join(project, "node_modules", ".bin", "flash"))).toBe(true);
    expect(existsSync(join(pkg, "dist", "sdk", "index.d.ts"))).toBe(true);
    expect(existsSync(join(pkg, "Dockerfile"))).toBe(true);
    expect(await readdir(join(pkg, "assets", "docs"))).toEqual(expect.arrayContaining(["index.html"]));
    expect(existsSync(join(pkg, "src"))).toBe(false);
    expect(existsSync(join(pkg, "test"))).toBe(false);
  });

  it("node_modules/.bin/flash dev serves the project's functions", async () => {
    dev = await startDevProcess(project, [], {}, join(project, "node_modules", ".bin", "flash"));
    expect(dev.output()).toMatch(/GET\s+\/src\/api\/orders\/orders\/:id\s+live-orders-api\s+LB/);
    expect(dev.output()).toMatch(/POST\s+\/jobs\/thumbnails\/run_sync\s+live-thumbs\s+QB/);

    const order = await fetch(`${dev.url}/src/api/orders/orders/7?currency=SEK`);
    expect(order.status).toBe(200);
    expect(await order.json()).toEqual({ id: "7", total: 701, currency: "SEK" });

    const thumb = await fetch(`${dev.url}/jobs/thumbnails/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"input":{"width":64}}' });
    expect(thumb.status).toBe(200);
    expect(await thumb.json()).toMatchObject({ status: "COMPLETED", output: { width: 64, at: "1970-01-01T00:00:00.000Z" } });

    const docs = await fetch(`${dev.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/<html/i);
    expect(await dev.stop()).toBe(0);
    dev = undefined;
  });

  it("the dev server used the installed package, not this repository", async () => {
    const { realpath } = await import("node:fs/promises");
    const linked = await realpath(join(project, "node_modules", ".cache", "flash-ts", "node_modules", "flash-ts"));
    expect(linked).toBe(await realpath(join(project, "node_modules", "flash-ts")));
  });

  it("flash worker runs a plain handler from the installed package", async () => {
    const { stdout } = await run(join(project, "node_modules", ".bin", "flash"), ["worker", "--handler", "./handler.mjs", "--test-input", '{"input":{"n":21}}'], {
      cwd: project,
      env: { ...process.env, RUNPOD_WEBHOOK_GET_JOB: "", PORT: "" },
    });
    expect(stdout).toMatch(/"doubled":\s*42/);
  });

  it("flash emulator starts from the installed package and answers REST v2", async () => {
    const child = spawn(join(project, "node_modules", ".bin", "flash"), ["emulator", "--port", "0"], { cwd: project, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let out = "";
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 30_000);
        const onData = (chunk: Buffer): void => {
          out += chunk.toString();
          const m = out.match(/RUNPOD_API_BASE_URL=(http:\/\/[^\s"']+)/);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
      });
      const list = await fetch(`${url}/v2/serverless`);
      expect(list.status).toBe(200);
      expect(await list.json()).toEqual({ endpoints: [] });
    } finally {
      child.kill("SIGINT");
      await new Promise((r) => child.on("exit", r));
    }
  });
});
