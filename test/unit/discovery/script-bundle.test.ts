/**
 * The bundle `flash run` executes: each file keeps its own import.meta (main
 * only for the script), stack traces name the user's .ts files, and build
 * problems carry file:line:column.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { buildScriptBundle } from "../../../src/discovery/script-bundle.js";
import { writeProject } from "./helpers.js";

function run(bundle: string): { stdout: string; stderr: string; code: number } {
  try {
    const stdout = execFileSync(process.execPath, ["--enable-source-maps", bundle], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { stdout, stderr: "", code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; status: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.status };
  }
}

describe("buildScriptBundle", () => {
  it("gives each file its own import.meta, with main true for the script alone", async () => {
    const root = writeProject({
      "scripts/main.ts": [
        'import { describe } from "../lib/util";',
        "interface Shape {",
        "  kind: string;",
        "}",
        "const shape: Shape = { kind: 'script' };",
        "console.log(JSON.stringify({ ...describe(), script: { main: import.meta.main, url: import.meta.url, dirname: import.meta.dirname, kind: shape.kind } }));",
      ].join("\n"),
      "lib/util.ts": "export function describe() {\n  return { lib: { main: import.meta.main, filename: import.meta.filename } };\n}\n",
    });
    const entry = join(root, "scripts", "main.ts");
    const outcome = await buildScriptBundle({ root, entry, outDir: join(root, "node_modules", ".cache", "run") });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems));
    expect(outcome.inputs).toEqual(["scripts/main.ts", "lib/util.ts"]);
    const printed = JSON.parse(run(outcome.path).stdout) as Record<string, Record<string, unknown>>;
    expect(printed.script).toEqual({ main: true, url: pathToFileURL(entry).href, dirname: join(root, "scripts"), kind: "script" });
    expect(printed.lib).toEqual({ main: false, filename: join(root, "lib", "util.ts") });
  });

  it("maps stack traces to the user's files and lines (type-only lines removed in between)", async () => {
    const root = writeProject({
      "boom.ts": ["type Input = {", "  a: number;", "};", "const input: Input = { a: 1 };", "", "if (input.a === 1) throw new Error('boom on line 6');"].join("\n"),
    });
    const outcome = await buildScriptBundle({ root, entry: join(root, "boom.ts"), outDir: join(root, "out") });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems));
    const result = run(outcome.path);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(root, "boom.ts")}:6`);
  });

  it("reports a syntax error with file, line and column", async () => {
    const root = writeProject({ "bad.ts": "const ok = 1;\nconst broken = (;\n" });
    const outcome = await buildScriptBundle({ root, entry: join(root, "bad.ts"), outDir: join(root, "out") });
    expect(outcome).toMatchObject({ ok: false, problems: [{ file: "bad.ts", line: 2, column: 17 }] });
  });

  it("reports an import that does not resolve where it is written, in an imported file too", async () => {
    const root = writeProject({ "main.ts": 'import { x } from "./lib";\nconsole.log(x);\n', "lib.ts": 'export { x } from "./missing";\n' });
    const outcome = await buildScriptBundle({ root, entry: join(root, "main.ts"), outDir: join(root, "out") });
    expect(outcome).toMatchObject({ ok: false, problems: [{ file: "lib.ts", line: 1, column: 19, message: expect.stringContaining("./missing") }] });
  });
});
