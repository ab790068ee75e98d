/**
 * Small parity points with Python Flash: a node_modules that is a symlink,
 * syntax errors at the end of a file, unknown enum members reported by the
 * name written in the code, and the 1-vCPU CPU instance types.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clampToText } from "../../../src/discovery/bundle-modules.js";
import type { DiscoveryIssue } from "../../../src/discovery/index.js";
import { toCreateEndpointRequest } from "../../../src/provision/endpoint-request.js";
import { CpuInstanceType, GpuGroup, GpuType } from "../../../src/sdk/hardware.js";
import { CpuLiveServerless, LiveServerless } from "../../../src/sdk/resources.js";
import { openDiscovery, routeList, writeProject } from "./helpers.js";

const elsewhere: string[] = [];
afterAll(() => {
  for (const dir of elsewhere) rmSync(dir, { recursive: true, force: true });
});

const CPU_FN = 'import { remote, CpuLiveServerless } from "flash-ts";\nexport const f = remote(new CpuLiveServerless({ name: "a" }), async () => 1);\n';

function only(issues: readonly DiscoveryIssue[]): DiscoveryIssue {
  expect(issues, JSON.stringify(issues, null, 1)).toHaveLength(1);
  return issues[0]!;
}

describe("a project whose node_modules is a symlink", () => {
  it("is served like any other, and its load errors still point into the project", async () => {
    const root = writeProject({ "a.ts": CPU_FN, "boom.ts": 'import { remote, CpuLiveServerless } from "flash-ts";\nexport const g = remote(new CpuLiveServerless({ name: "b" }), async () => 1);\nthrow new Error("top-level boom");\n' });
    const target = realpathSync(mkdtempSync(join(tmpdir(), "flash-linked-modules-")));
    elsewhere.push(target);
    mkdirSync(join(target, "node_modules"));
    symlinkSync(join(target, "node_modules"), join(root, "node_modules"));
    const manifest = await openDiscovery({ root }).discover();
    expect(routeList(manifest)).toEqual(["POST /a/run_sync"]);
    expect(only(manifest.issues)).toMatchObject({ file: "boom.ts", line: 3 });
  });
});

describe("a syntax error at the end of a file", () => {
  it("is reported at the file's last character, never past its end", async () => {
    const root = writeProject({
      "open-call.ts": 'import { remote } from "flash-ts";\nexport const x = remote(\n\n',
      "open-string.ts": 'import { remote } from "flash-ts";\nexport const s = `abc',
    });
    const manifest = await openDiscovery({ root }).discover();
    const byFile = new Map(manifest.issues.map((i) => [i.file, i]));
    expect(byFile.get("open-call.ts")).toMatchObject({ line: 2, column: 24 });
    expect(byFile.get("open-string.ts")).toMatchObject({ line: 2, column: 21 });
  });

  it("positions inside the text stay as they are", () => {
    expect(clampToText("a\nbcd\n", 2, 2)).toEqual({ line: 2, column: 2 });
    expect(clampToText("a\nbcd\n", 3, 1)).toEqual({ line: 2, column: 3 });
    expect(clampToText("a\r\nbcd  \r\n\r\n", 4, 1)).toEqual({ line: 2, column: 3 });
    expect(clampToText("", 1, 5)).toEqual({ line: 1, column: 1 });
  });
});

describe("an unknown enum member", () => {
  it("is reported by the name written in the code", () => {
    expect(() => new LiveServerless({ name: "g", gpus: [(GpuGroup as unknown as Record<string, string>).ADA_99!] })).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG", message: 'LiveServerless("g"): unknown GPU group "ADA_99" (GpuGroup.ADA_99)', hint: expect.stringContaining("ADA_24") }),
    );
    expect(() => new LiveServerless({ name: "g", gpus: [(GpuType as unknown as Record<string, string>).NVIDIA_RTX_9999!] })).toThrow(/unknown GPU type "NVIDIA_RTX_9999"/);
    expect(() => new CpuLiveServerless({ name: "c", instanceIds: [(CpuInstanceType as unknown as Record<string, string>).CPU9_1_1!] })).toThrow(/unknown CPU instance type "CPU9_1_1"/);
  });

  it("leaves the enums as they were otherwise", () => {
    expect(Object.keys(GpuGroup)).toContain("ADA_24");
    expect(Object.values(CpuInstanceType)).toContain("cpu3c-1-2");
    expect((GpuGroup as unknown as Record<string, unknown>).then).toBeUndefined();
    expect((GpuGroup as unknown as Record<string, unknown>).toJSON).toBeUndefined();
    expect(JSON.parse(JSON.stringify(GpuGroup))).toMatchObject({ ADA_24: "ADA_24" });
  });

  it("in a project file is a load issue naming it", async () => {
    const root = writeProject({
      "gpu.ts": 'import { remote, LiveServerless, GpuGroup } from "flash-ts";\nexport const f = remote(new LiveServerless({ name: "g", gpus: [GpuGroup.ADA_99] }), async () => 1);\n',
    });
    const issue = only((await openDiscovery({ root }).discover()).issues);
    expect(issue).toMatchObject({ code: "INVALID_CONFIG", file: "gpu.ts", line: 2 });
    expect(issue.message).toContain('unknown GPU group "ADA_99"');
    expect(issue.message).not.toContain("undefined");
  });
});

describe("the 1-vCPU CPU instance types", () => {
  it("exist as in Runpod Flash and are sent with vcpuCount 1", () => {
    expect([CpuInstanceType.CPU3G_1_4, CpuInstanceType.CPU3C_1_2, CpuInstanceType.CPU5C_1_2]).toEqual(["cpu3g-1-4", "cpu3c-1-2", "cpu5c-1-2"]);
    const spec = new CpuLiveServerless({ name: "tiny", instanceIds: [CpuInstanceType.CPU3C_1_2, CpuInstanceType.CPU5C_1_2] }).toSpec();
    const body = toCreateEndpointRequest(spec, { cpuImage: "i", gpuImage: "i", startCommand: "s", projectId: "p" });
    expect(body.cpu).toEqual([
      { id: "cpu3c", vcpuCount: 1 },
      { id: "cpu5c", vcpuCount: 1 },
    ]);
  });
});
