/**
 * The import rule of eslint/boundaries.mjs (docs/internals.md, "Layout and who
 * may import whom"): it refuses what the layout forbids, in each of the three
 * kinds of permission, the real config applies it to src/, and the doc's
 * table says exactly what the rule says.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ESLint, Linter } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";
import boundaries, { AREA_RULES, PACKAGE_RULES } from "../../../eslint/boundaries.mjs";
import { REPO_ROOT } from "../../helpers/paths.js";

const linter = new Linter({ cwd: REPO_ROOT });
const config: Linter.Config[] = [
  {
    files: ["**/*.ts"],
    languageOptions: { parser: tseslint.parser as Linter.Parser },
    plugins: { boundaries },
    rules: { "boundaries/imports": "error" },
  },
];

function problems(file: string, code: string): string[] {
  return linter.verify(code, config, { filename: join(REPO_ROOT, "src", file) }).map((m) => m.message);
}

describe("boundaries/imports", () => {
  it("lets a folder import what its row allows", () => {
    expect(problems("emulator/x.ts", `import { WORKER_ENV } from "../runpod/wire-types.js";`)).toEqual([]);
    expect(problems("emulator/x.ts", `import type { WorkerContainerRuntime } from "../container/container-runtime.js";`)).toEqual([]);
    expect(problems("emulator/x.ts", `const m = await import("../container/docker-container-runtime.js");`)).toEqual([]);
    expect(problems("sdk/x.ts", `import type { JobClient } from "../runpod/job-client.js";`)).toEqual([]);
    expect(problems("sdk/x.ts", `const r = await import("../runpod/index.js");`)).toEqual([]);
    expect(problems("discovery/type-schema/x.ts", `import { AppError } from "../../common/errors.js";`)).toEqual([]);
    expect(problems("cli/x.ts", `import { startDevSession } from "../dev/dev-session.js";`)).toEqual([]);
    expect(problems("runpod/http.ts", `import { Agent } from "undici";`)).toEqual([]);
    expect(problems("common/x.ts", `import type { Dispatcher } from "undici";`)).toEqual([]);
  });

  it("refuses a folder its row does not name, whatever the kind of import", () => {
    expect(problems("emulator/x.ts", `import { createJobClient } from "../runpod/job-client.js";`)).toEqual([
      expect.stringContaining("emulator/ may not import runpod/job-client.ts"),
    ]);
    expect(problems("emulator/x.ts", `import type { JobClient } from "../runpod/job-client.js";`)).toHaveLength(1);
    expect(problems("server/x.ts", `const d = await import("../dev/dev-session.js");`)).toEqual([
      expect.stringContaining("server/ may not import dev/dev-session.ts"),
    ]);
    expect(problems("common/x.ts", `export { AppError } from "../runpod/errors.js";`)).toHaveLength(1);
    expect(problems("discovery/type-schema/x.ts", `import { startEmulator } from "../../emulator/index.js";`)).toHaveLength(1);
  });

  it("refuses a value import from a folder allowed as types only", () => {
    expect(problems("server/x.ts", `import { getRegistry } from "../sdk/registry.js";`)).toEqual([
      expect.stringContaining("server/ may import only types from sdk/registry.ts"),
    ]);
    expect(problems("server/x.ts", `import { type RemoteMeta } from "../sdk/registry.js";`)).toEqual([]);
    expect(problems("server/x.ts", `type M = import("../sdk/registry.js").RemoteMeta;`)).toEqual([]);
    expect(problems("calls/x.ts", `const j = await import("../runpod/job-client.js");`)).toEqual([
      expect.stringContaining("calls/ may import only types from runpod/job-client.ts"),
    ]);
  });

  it("refuses a static value import of what may be loaded only lazily", () => {
    expect(problems("sdk/x.ts", `import { createHttpClient } from "../runpod/index.js";`)).toEqual([
      expect.stringContaining("sdk/ may load runpod/index.ts only lazily"),
    ]);
    expect(problems("emulator/x.ts", `import { createDockerContainerRuntime } from "../container/docker-container-runtime.js";`)).toEqual([
      expect.stringContaining("only lazily"),
    ]);
  });

  it("keeps dockerode, chokidar and undici's dispatchers to their files", () => {
    expect(problems("container/engine-runtime.ts", `import Docker from "dockerode";`)).toEqual([
      expect.stringContaining("only container/docker-container-runtime.ts may load dockerode"),
    ]);
    expect(problems("watch/poll-watcher.ts", `const c = await import("chokidar");`)).toHaveLength(1);
    expect(problems("runpod/job-client.ts", `import { Agent } from "undici";`)).toHaveLength(1);
    expect(problems("container/docker-container-runtime.ts", `import Docker from "dockerode";`)).toEqual([]);
  });
});

describe("the lint config", () => {
  it("applies the rule to every file under src/", async () => {
    const eslint = new ESLint({ cwd: REPO_ROOT });
    const config = (await eslint.calculateConfigForFile(join(REPO_ROOT, "src/emulator/ids.ts"))) as Linter.Config;
    expect(config.rules?.["boundaries/imports"]).toEqual([2]);
  });
});

describe("docs/internals.md", () => {
  const doc = readFileSync(join(REPO_ROOT, "docs/internals.md"), "utf8");
  const section = doc.slice(doc.indexOf("<!-- boundaries:start -->"), doc.indexOf("<!-- boundaries:end -->"));
  const rows = section
    .split("\n")
    .filter((line) => /^\| `/.test(line))
    .map((line): string[][] => line.split("|").slice(1, -1).map((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).concat(cell.includes("everything") ? ["*"] : [])));

  it("lists each folder with exactly the rule's permissions", () => {
    const areas = Object.fromEntries(rows.filter((r) => r.length === 4).map((r) => [r[0]![0], { value: r[1], type: r[2], lazy: r[3] }]));
    const expected = Object.fromEntries(
      Object.entries(AREA_RULES).map(([area, rule]) => [area, { value: [...(rule.value ?? [])], type: [...(rule.type ?? [])], lazy: [...(rule.lazy ?? [])] }]),
    );
    expect(areas).toEqual(expected);
  });

  it("lists each restricted package with exactly the files the rule allows", () => {
    const packages = Object.fromEntries(rows.filter((r) => r.length === 2).map((r) => [r[0]![0], r[1]]));
    expect(packages).toEqual(Object.fromEntries(Object.entries(PACKAGE_RULES).map(([name, files]) => [name, [...files]])));
  });
});
