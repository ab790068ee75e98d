/**
 * Small parity points with Python Flash, through `flash dev` and a stand-in
 * Runpod (a real `flash emulator --api-key` process): a project whose
 * node_modules is a symlink is served; a 1-vCPU CPU type reaches Runpod as
 * vcpuCount 1; an unknown enum member is reported by its name; a syntax error
 * at the end of a file points into it.
 */
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import type { DevProcess } from "../helpers/dev-process.js";
import { startStandInRunpod } from "../helpers/stand-in-runpod.js";
import type { StandInRunpod } from "../helpers/stand-in-runpod.js";

const KEY = "rpa_PARITY_TEST_0123456789abcdef";
let runpod: StandInRunpod;
let top: string;
let project: string;
let dev: DevProcess;

const BROKEN = 'import { remote } from "flash-ts";\nexport const x = remote(\n\n';

beforeAll(async () => {
  runpod = await startStandInRunpod(KEY);
  top = await realpath(await mkdtemp(join(tmpdir(), "flash-parity-")));
  project = join(top, "project");
  await mkdir(join(top, "shared-modules"), { recursive: true });
  await mkdir(project);
  await symlink(join(top, "shared-modules"), join(project, "node_modules"));
  await writeFile(join(project, ".env"), `RUNPOD_API_KEY=${KEY}\n`);
  await writeFile(
    join(project, "tiny.ts"),
    `import { remote, CpuLiveServerless, CpuInstanceType } from "flash-ts";
export const tiny = remote(new CpuLiveServerless({ name: "tiny", instanceIds: [CpuInstanceType.CPU3C_1_2] }), async (input: { n: number }) => ({ doubled: input.n * 2 }));
`,
  );
  await writeFile(
    join(project, "gpu.ts"),
    `import { remote, LiveServerless, GpuGroup } from "flash-ts";
export const big = remote(new LiveServerless({ name: "big", gpus: [GpuGroup.ADA_99] }), async () => 1);
`,
  );
  await writeFile(join(project, "broken.ts"), BROKEN);
  dev = await startDevProcess(project, [], runpod.env);
});

afterAll(async () => {
  await dev?.stop();
  await runpod?.stop();
  if (top) await rm(top, { recursive: true, force: true });
});

describe("parity points", () => {
  it("serves a project whose node_modules is a symlink, and a 1-vCPU type reaches Runpod as vcpuCount 1", async () => {
    const res = await fetch(`${dev.url}/tiny/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: { n: 21 } }) });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ output: { doubled: 42 } });
    const endpoint = (await runpod.listEndpoints()).find((e) => e.name === "live-tiny");
    expect(endpoint?.cpu?.map((c) => ({ id: c.id, vcpuCount: c.vcpuCount }))).toEqual([{ id: "cpu3c", vcpuCount: 1 }]);
  });

  it("reports an unknown enum member by the name written in the code", () => {
    expect(dev.output()).toMatch(/✖ gpu\.ts:2(:\d+)?: .*unknown GPU group "ADA_99" \(GpuGroup\.ADA_99\)/);
    expect(dev.output()).not.toMatch(/unknown GPU undefined/);
  });

  it("points a syntax error at the end of a file at its last character", async () => {
    const match = dev.output().match(/✖ broken\.ts:(\d+):(\d+): /);
    expect(match, dev.output()).not.toBeNull();
    const [line, column] = [Number(match![1]), Number(match![2])];
    const lines = (await readFile(join(project, "broken.ts"), "utf8")).split("\n");
    expect(line).toBeLessThanOrEqual(lines.length);
    expect(column).toBeLessThanOrEqual(lines[line - 1]!.length);
    expect([line, column]).toEqual([2, 24]);
  });
});
