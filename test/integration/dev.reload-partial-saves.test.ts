/**
 * Editors that save in place truncate the file, then write it: for a moment
 * the file is empty, or holds only its first bytes. Through a real
 * `flash dev`, with requests in flight all along, such a moment must not take
 * the file's routes away (issue 7 item 10): the file keeps its last good
 * routes until it settles. A file that stays empty, or is deleted, does lose
 * them.
 */
import { mkdtemp, rm, truncate, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import { waitFor } from "../helpers/wait.js";
import type { DevProcess } from "../helpers/dev-process.js";

let dir: string;
let dev: DevProcess;

const HEADER = 'import { remote, CpuLiveLoadBalancer } from "flash-ts";\n';
const source = (value: string): string => `${HEADER}const api = new CpuLiveLoadBalancer({ name: "partial-saves" });
export const answer = remote(api, { method: "POST", path: "/answer", local: true }, async () => ({ value: ${JSON.stringify(value)} }));
`;
/** What a reader can see mid-save: nothing, a first line without the marker, a prefix that parses but exports nothing. */
const MIDWAY = ["", "// a header comment\n", HEADER];

async function call(path = "/worker/answer"): Promise<{ status: number; body: unknown }> {
  const res = await fetch(dev.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  return { status: res.status, body: await res.json() };
}

/**
 * Puts the file midway through a save and waits until the server has looked at it: it either
 * holds the file (a debug line) or, as before the fix, drops its route.
 */
async function saveMidway(text: string, file = "worker.ts"): Promise<string> {
  const from = dev.output().length;
  if (text === "") await truncate(join(dir, file));
  else await writeFile(join(dir, file), text);
  const route = `/${file.replace(/\.ts$/, "")}/answer`;
  await dev.waitForOutput(new RegExp(`${file.replace(".", "\\.")} looks empty or has no remote functions|- POST ${route}`), 30_000, from);
  return dev.output().slice(from);
}

/** Writes the whole file and waits until its new value is served. */
async function saveWhole(value: string): Promise<void> {
  await writeFile(join(dir, "worker.ts"), source(value));
  await waitFor(`${value} served`, async () => JSON.stringify((await call()).body) === JSON.stringify({ value }), 30_000, 20);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-partial-"));
  await writeFile(join(dir, "worker.ts"), source("start"));
  // Debug level: the server says when it holds a file that looks half-saved.
  dev = await startDevProcess(dir, [], { FLASH_LOG_LEVEL: "debug" });
});

afterAll(async () => {
  await dev?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("in-place saves that pass through an empty or partial file", () => {
  it("fail no request across 10 truncate-then-write saves under concurrent requests", async () => {
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const client = async (): Promise<void> => {
      while (running) {
        try {
          const res = await call();
          if (res.status === 200) ok++;
          else failures.push(`${res.status} ${JSON.stringify(res.body)}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = Array.from({ length: 8 }, () => client());
    for (let i = 0; i < 10; i++) {
      // The server has looked at the midway state before the rest is written: the worst
      // case of a slow save, whatever the machine's speed.
      await saveMidway(MIDWAY[i % MIDWAY.length]!);
      await saveWhole(`v${i}`);
    }
    running = false;
    await Promise.all(clients);
    expect(failures.slice(0, 5), `${failures.length} failed requests; ${dev.output().slice(-3000)}`).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect((await call()).body, dev.output().slice(-6000)).toEqual({ value: "v9" });
  });

  it("a file that stays empty loses its routes once it has settled; a deleted file at once", async () => {
    await writeFile(join(dir, "other.ts"), source("other").replace("partial-saves", "other-api"));
    await saveWhole("kept");
    await waitFor("other.ts served", async () => (await call("/other/answer")).status === 200, 30_000);

    const first = await saveMidway("");
    expect(first).not.toMatch(/- POST \/worker\/answer/);
    expect(await call(), "right after it was emptied").toEqual({ status: 200, body: { value: "kept" } });
    await waitFor("the emptied file's route to go", async () => (await call()).status === 404, 30_000);
    expect(dev.output()).toMatch(/- POST \/worker\/answer/);

    const from = dev.output().length;
    await unlink(join(dir, "other.ts"));
    await dev.waitForOutput(/- POST \/other\/answer/, 30_000, from);
    expect((await call("/other/answer")).status).toBe(404);
  });
});
