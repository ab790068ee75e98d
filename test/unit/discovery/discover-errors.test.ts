/**
 * Files that do not build or do not load are reported with file and line,
 * and never stop the other files from being served.
 */
import { describe, expect, it } from "vitest";
import type { DiscoveryIssue } from "../../../src/discovery/index.js";
import { copyFixture, openDiscovery, routeList, writeProject } from "./helpers.js";

function issueFor(issues: readonly DiscoveryIssue[], file: string): DiscoveryIssue {
  const found = issues.filter((i) => i.file === file || i.related?.includes(file));
  expect(found, `issues for ${file}: ${JSON.stringify(issues, null, 1)}`).toHaveLength(1);
  return found[0]!;
}

describe("discover() on the broken fixture", () => {
  it("serves the good files and reports each broken one precisely", async () => {
    const root = copyFixture("broken");
    const manifest = await openDiscovery({ root }).discover();
    expect(routeList(manifest)).toEqual(["POST /good/run_sync", "POST /unexported/run_sync"]);

    expect(issueFor(manifest.issues, "syntax.ts")).toMatchObject({ code: "FUNCTION_LOAD_FAILED", severity: "error", file: "syntax.ts", line: 6, column: 17 });
    expect(issueFor(manifest.issues, "syntax.ts").message).toMatch(/^syntax\.ts did not build: Expected "}" but found ";"/);

    const unresolved = issueFor(manifest.issues, "unresolved.ts");
    expect(unresolved).toMatchObject({ code: "FUNCTION_LOAD_FAILED", file: "unresolved.ts", line: 2 });
    expect(unresolved.message).toContain('Could not resolve "./lib/missing.js"');
    expect(unresolved.hint).toMatch(/relative import/);

    // The fault is in a file the candidate imports: located there, the candidate named as related.
    expect(issueFor(manifest.issues, "nested-error.ts")).toMatchObject({ file: "lib/bad-helper.ts", line: 2, related: ["nested-error.ts"] });

    const thrown = issueFor(manifest.issues, "throws.ts");
    expect(thrown).toMatchObject({ code: "FUNCTION_LOAD_FAILED", file: "throws.ts", line: 4, column: 7 });
    expect(thrown.message).toBe("throws.ts failed to load: top-level boom");
    expect(thrown.stack).toMatch(/throws\.ts:4:7/);
    expect(thrown.stack).not.toContain("node_modules/.cache");

    const config = issueFor(manifest.issues, "bad-config.ts");
    expect(config).toMatchObject({ code: "INVALID_CONFIG", file: "bad-config.ts", line: 3 });
    expect(config.message).toContain("workersMin (5) cannot be greater than workersMax (1)");

    const unexported = issueFor(manifest.issues, "unexported.ts");
    expect(unexported).toMatchObject({ code: "UNEXPORTED_REMOTE", severity: "warning" });
    expect(unexported.message).toMatch(/creates 1 remote function that is not exported/);

    // Broken files stay watched so that fixing them triggers a reload.
    expect(manifest.watchedInputs).toEqual(expect.arrayContaining(["syntax.ts", "unresolved.ts", "lib/bad-helper.ts", "throws.ts"]));
  });
});

describe("module top levels", () => {
  it("cuts a module whose top level hangs after the timeout and keeps serving the rest", async () => {
    const root = writeProject({
      "package.json": '{ "type": "module" }',
      "spin.ts": 'import { remote } from "flash-ts";\nwhile (true) {}\n',
      "wait.ts": 'import { remote } from "flash-ts";\nawait new Promise(() => {});\n',
      "fine.ts": 'import { remote, CpuLiveServerless } from "flash-ts";\nexport const fine = remote(new CpuLiveServerless({ name: "fine" }), async () => 1);\n',
      "after.ts": 'import { remote, CpuLiveServerless } from "flash-ts";\nexport const after = remote(new CpuLiveServerless({ name: "after" }), async () => 1);\n',
    });
    const started = Date.now();
    const manifest = await openDiscovery({ root, importTimeoutMs: 1000 }).discover();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(routeList(manifest)).toEqual(["POST /after/run_sync", "POST /fine/run_sync"]);
    for (const file of ["spin.ts", "wait.ts"]) {
      const issue = issueFor(manifest.issues, file);
      expect(issue.code).toBe("FUNCTION_LOAD_FAILED");
      expect(issue.message).toMatch(/did not finish within 1000 ms/);
    }
  });

  it("reports a module that exits its thread, and one that calls a remote function at top level", async () => {
    const root = writeProject({
      "package.json": '{ "type": "module" }',
      "exits.ts": 'import { remote } from "flash-ts";\nprocess.exit(3);\n',
      "calls.ts": [
        'import { remote, CpuLiveServerless } from "flash-ts";',
        'export const f = remote(new CpuLiveServerless({ name: "calls" }), async () => 1);',
        "await f();",
        "",
      ].join("\n"),
      "fine.ts": 'import { remote, CpuLiveServerless } from "flash-ts";\nexport const fine = remote(new CpuLiveServerless({ name: "fine" }), async () => 1);\n',
    });
    const manifest = await openDiscovery({ root }).discover();
    expect(routeList(manifest)).toEqual(["POST /fine/run_sync"]);
    expect(issueFor(manifest.issues, "exits.ts").message).toMatch(/ended the thread/);
    const calls = issueFor(manifest.issues, "calls.ts");
    // Tagging runs after the module body, so the SDK cannot name the function yet; the call is refused either way.
    expect(calls.message).toMatch(/^calls\.ts failed to load: cannot call a remote function/);
    expect(calls.line).toBe(3);
  });

  it("hints at a package imported at top level that is not installed", async () => {
    const root = writeProject({
      "package.json": '{ "type": "module" }',
      "uses.ts": [
        'import { remote, CpuLiveServerless } from "flash-ts";',
        'import thing from "not-installed-pkg";',
        'export const f = remote(new CpuLiveServerless({ name: "uses" }), async () => thing);',
        "",
      ].join("\n"),
    });
    const discovery = openDiscovery({ root });
    const manifest = await discovery.discover();
    const issue = issueFor(manifest.issues, "uses.ts");
    expect(issue.code).toBe("FUNCTION_LOAD_FAILED");
    expect(issue.message).toContain("not-installed-pkg");
    expect(issue.hint).toMatch(/npm install not-installed-pkg/);

    // `npm install` changes package.json: the same bundle is imported again and now loads.
    writeProject(
      {
        "node_modules/not-installed-pkg/package.json": JSON.stringify({ name: "not-installed-pkg", version: "1.0.0", type: "module", exports: "./index.js" }),
        "node_modules/not-installed-pkg/index.js": "export default 42;\n",
        "package.json": JSON.stringify({ type: "module", dependencies: { "not-installed-pkg": "^1.0.0" } }),
      },
      root,
    );
    const fixed = await discovery.discover(["package.json"]);
    expect(fixed.issues).toEqual([]);
    expect(fixed.modules["uses.ts"]!.dependencies).toEqual(["not-installed-pkg@1.0.0"]);
  });
});
