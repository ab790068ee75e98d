/**
 * A reload holds only the requests it may affect (issue 7 item 16). Through a
 * real `flash dev`: while one file's top level loops forever, another file's
 * route is answered at once by the current generation; a request for the
 * stuck file's own route waits for the reload and gets the file's last good
 * version; the stuck file is reported by name. And the old guarantee: no
 * request fails across reloads at concurrency 32.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import { waitFor } from "../helpers/wait.js";
import type { DevProcess } from "../helpers/dev-process.js";

let dir: string;
let dev: DevProcess;

const module = (name: string, value: string, top = ""): string => `import { remote, CpuLiveLoadBalancer } from "flash-ts";
${top}
const api = new CpuLiveLoadBalancer({ name: ${JSON.stringify(name)} });
export const answer = remote(api, { method: "POST", path: "/answer", local: true }, async () => ({ value: ${JSON.stringify(value)} }));
`;

async function call(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(dev.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  return { status: res.status, body: await res.json() };
}

/** Saves stuck.ts with `value` and waits until that value is served (a reload line alone could be an earlier one's). */
async function edit(value: string): Promise<void> {
  await writeFile(join(dir, "stuck.ts"), module("stuck-api", value));
  const wanted = JSON.stringify({ status: 200, body: { value } });
  await waitFor(`${value} served`, async () => JSON.stringify(await call("/stuck/answer")) === wanted, 30_000, 20);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-scoped-"));
  await writeFile(join(dir, "stuck.ts"), module("stuck-api", "good"));
  await writeFile(join(dir, "other.ts"), module("other-api", "other"));
  dev = await startDevProcess(dir);
});

afterAll(async () => {
  await dev?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("a reload holds only the requests it may affect", () => {
  it("serves another file's route at once while one file's top level loops forever", async () => {
    const marker = join(dir, "import-started");
    const from = dev.output().length;
    // Marks that its import has begun, then never finishes.
    await writeFile(
      join(dir, "stuck.ts"),
      module("stuck-api", "never", `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "x");\nwhile (true) {}`),
    );
    await waitFor("the stuck import to begin", () => existsSync(marker), 30_000);

    // Its own route waits for the reload (and then gets the last good version)…
    const own = call("/stuck/answer");
    // …while another file's route is answered now, by the current generation,
    const other = await call("/other/answer");
    expect(other).toEqual({ status: 200, body: { value: "other" } });
    // before the stuck import has timed out and the reload has ended.
    const meanwhile = dev.output().slice(from);
    expect(meanwhile, "the other route waited for the reload").not.toMatch(/Reloaded \d+ route/);
    expect(meanwhile).not.toMatch(/did not finish within/);

    expect(await own).toEqual({ status: 200, body: { value: "good" } });
    const reported = dev.output().slice(from);
    expect(reported).toMatch(/stuck\.ts[^\n]*did not finish within \d+ ms/);
    expect(reported).toMatch(/Reloaded \d+ route/);
    expect(await call("/stuck/answer")).toEqual({ status: 200, body: { value: "good" } });

    await edit("fixed");
  });

  it("fails no request across 10 reloads at concurrency 32, on the changing file's route and another's", async () => {
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const client = async (path: string): Promise<void> => {
      while (running) {
        try {
          const res = await call(path);
          if (res.status === 200) ok++;
          else failures.push(`${path} ${res.status} ${JSON.stringify(res.body)}`);
        } catch (error) {
          failures.push(`${path} ${String(error)}`);
        }
      }
    };
    const clients = Array.from({ length: 32 }, (_, i) => client(i % 2 === 0 ? "/stuck/answer" : "/other/answer"));
    for (let i = 0; i < 10; i++) await edit(`v${i}`);
    running = false;
    await Promise.all(clients);
    expect(failures.slice(0, 5), `${failures.length} failed`).toEqual([]);
    expect(ok).toBeGreaterThan(32);
  });
});
