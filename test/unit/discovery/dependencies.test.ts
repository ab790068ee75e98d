import { describe, expect, it } from "vitest";
import {
  collectExternalImports,
  createVersionResolver,
  packageNameOf,
  resolveModuleDependencies,
  specName,
} from "../../../src/discovery/dependencies.js";
import { writeProject } from "./helpers.js";

describe("package names", () => {
  it.each([
    ["zod", "zod"],
    ["lodash/fp", "lodash"],
    ["@scope/pkg", "@scope/pkg"],
    ["@scope/pkg/sub/path.js", "@scope/pkg"],
    ["node:fs", undefined],
    ["fs", undefined],
    ["fs/promises", undefined],
    ["./rel.js", undefined],
    ["/abs.js", undefined],
    ["#internal", undefined],
    ["data:text/javascript,1", undefined],
  ])("%s → %s", (specifier, name) => {
    expect(packageNameOf(specifier)).toBe(name);
  });

  it("splits npm specs", () => {
    expect(specName("sharp@0.34")).toBe("sharp");
    expect(specName("sharp")).toBe("sharp");
    expect(specName("@a/b@^1")).toBe("@a/b");
    expect(specName("@a/b")).toBe("@a/b");
  });
});

describe("module dependencies", () => {
  it("collects bare externals, skipping flash-ts and builtins, and tracks dynamic-only use", () => {
    const imports = collectExternalImports([
      { path: "flash-ts", kind: "import-statement", external: true },
      { path: "node:fs", kind: "import-statement", external: true },
      { path: "zod", kind: "import-statement", external: true },
      { path: "zod/mini", kind: "dynamic-import", external: true },
      { path: "sharp", kind: "dynamic-import", external: true },
      { path: "./local.js", kind: "import-statement" },
    ]);
    expect(imports).toEqual([
      { name: "sharp", dynamicOnly: true },
      { name: "zod", dynamicOnly: false },
    ]);
  });

  it("pins installed packages (found up the folder tree) and lets declared specs win", () => {
    const root = writeProject({
      "node_modules/zod/package.json": JSON.stringify({ name: "zod", version: "3.23.8" }),
      "app/node_modules/@scope/pkg/package.json": JSON.stringify({ name: "@scope/pkg", version: "1.0.0" }),
      "node_modules/sharp/package.json": JSON.stringify({ name: "sharp", version: "0.33.0" }),
    });
    const installed = createVersionResolver(`${root}/app`);
    expect(installed("zod")).toBe("3.23.8");
    expect(installed("@scope/pkg")).toBe("1.0.0");
    expect(installed("nope")).toBeUndefined();
    const deps = resolveModuleDependencies(
      ["sharp@0.34", "left-pad"],
      [
        { name: "@scope/pkg", dynamicOnly: false },
        { name: "ghost", dynamicOnly: true },
        { name: "sharp", dynamicOnly: true },
        { name: "zod", dynamicOnly: false },
      ],
      installed,
    );
    expect(deps.specs).toEqual(["@scope/pkg@1.0.0", "left-pad", "sharp@0.34", "zod@3.23.8"]);
    expect(deps.missing).toEqual([{ name: "ghost", dynamicOnly: true }]);
  });
});
