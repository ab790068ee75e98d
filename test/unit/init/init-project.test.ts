/** `flash init`: the files of a new project, and bad input that changes nothing. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initProject } from "../../../src/init/init-project.js";
import { projectFiles, renderPackageJson } from "../../../src/init/project-template.js";
import { AppError } from "../../../src/common/errors.js";
import { readPackageVersion } from "../../../src/common/package-info.js";

const EXPECTED = [
  ".devcontainer/devcontainer.json",
  ".env.example",
  ".gitignore",
  "README.md",
  "compose.yaml",
  "cpu_worker.ts",
  "gpu_worker.ts",
  "lb_worker.ts",
  "package.json",
  "pipeline.ts",
  "tsconfig.json",
];

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected an AppError");
}

/** Every file under `dir`, relative, sorted. */
function tree(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tree(dir, `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

describe("flash init", () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), "flash-init-unit-"));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it("writes the whole project into a new folder, named after it", () => {
    const result = initProject({ dir: join(base, "orders-api") });
    expect(result.name).toBe("orders-api");
    expect(result.written.sort()).toEqual(EXPECTED);
    expect(tree(join(base, "orders-api"))).toEqual(EXPECTED);
    const manifest = JSON.parse(readFileSync(join(base, "orders-api", "package.json"), "utf8")) as Record<string, Record<string, string>>;
    expect(manifest).toMatchObject({ name: "orders-api", private: true, type: "module", scripts: { dev: "flash dev" } });
    // Pinned to the flash-ts that wrote it, exactly.
    expect(manifest.dependencies).toEqual({ "flash-ts": readPackageVersion() });
    expect(readFileSync(join(base, "orders-api", ".gitignore"), "utf8").split("\n")).toEqual(expect.arrayContaining(["node_modules/", ".runpod/", ".env"]));
    expect(readFileSync(join(base, "orders-api", "README.md"), "utf8")).toMatch(/^# orders-api\n/);
  });

  it("keeps the legacy decorators off in tsconfig.json: the SDK's @remote is a standard decorator", () => {
    const tsconfig = projectFiles("x").find((f) => f.path === "tsconfig.json")!.content;
    const options = JSON.parse(tsconfig.replace(/^\s*\/\/.*$/gm, "")) as { compilerOptions: Record<string, unknown> };
    expect(options.compilerOptions).toMatchObject({ strict: true, experimentalDecorators: false, emitDecoratorMetadata: false, useDefineForClassFields: true });
  });

  it("takes --name over the folder's name", () => {
    expect(initProject({ dir: join(base, "Orders API"), name: "@acme/orders" }).name).toBe("@acme/orders");
    expect(JSON.parse(readFileSync(join(base, "Orders API", "package.json"), "utf8"))).toMatchObject({ name: "@acme/orders" });
  });

  it("refuses an invalid package name, naming the rule and a fix, and creates nothing", () => {
    const fromFolder = thrown(() => initProject({ dir: join(base, "My App") }));
    expect(fromFolder.code).toBe("INVALID_INPUT");
    expect(fromFolder.message).toMatch(/"My App" is not a valid npm package name: .*capital letters.*URL-friendly/);
    expect(fromFolder.hint).toMatch(/folder's name.*--name my-app/);
    expect(existsSync(join(base, "My App"))).toBe(false);

    const given = thrown(() => initProject({ dir: join(base, "ok"), name: "http" }));
    expect(given.message).toMatch(/core module/);
    expect(existsSync(join(base, "ok"))).toBe(false);
  });

  it("refuses a folder with files in it and writes nothing; a clone's .git alone does not count", () => {
    const dir = join(base, "busy");
    mkdirSync(dir);
    writeFileSync(join(dir, "notes.txt"), "mine");
    const error = thrown(() => initProject({ dir }));
    expect(error.message).toMatch(/is not empty \(notes\.txt\); nothing was written/);
    expect(error.hint).toMatch(/--force/);
    expect(tree(dir)).toEqual(["notes.txt"]);

    const clone = join(base, "clone");
    mkdirSync(join(clone, ".git"), { recursive: true });
    writeFileSync(join(clone, ".git", "HEAD"), "ref: refs/heads/main\n");
    expect(initProject({ dir: clone }).written).toHaveLength(EXPECTED.length);
  });

  it("with --force adds what is missing and keeps the user's files; --overwrite replaces them", () => {
    const dir = join(base, "existing");
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), '{"name":"existing","mine":true}\n');
    writeFileSync(join(dir, "cpu_worker.ts"), "// mine\n");
    writeFileSync(join(dir, "notes.txt"), "mine");

    const kept = initProject({ dir, force: true });
    expect(kept.kept.sort()).toEqual(["cpu_worker.ts", "package.json"]);
    expect(kept.written).toHaveLength(EXPECTED.length - 2);
    expect(readFileSync(join(dir, "package.json"), "utf8")).toBe('{"name":"existing","mine":true}\n');
    expect(readFileSync(join(dir, "cpu_worker.ts"), "utf8")).toBe("// mine\n");

    const replaced = initProject({ dir, force: true, overwrite: true });
    expect(replaced.overwritten).toHaveLength(EXPECTED.length);
    expect(replaced.written).toEqual([]);
    expect(readFileSync(join(dir, "cpu_worker.ts"), "utf8")).toMatch(/CpuLiveServerless/);
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("mine"); // not the project's: untouched
  });

  it("refuses a file where the folder should be", () => {
    writeFileSync(join(base, "file"), "x");
    expect(thrown(() => initProject({ dir: join(base, "file") })).message).toMatch(/is a file, not a folder/);
  });

  it("pins TypeScript and the Node types to the versions flash-ts is built with", () => {
    const manifest = JSON.parse(renderPackageJson("x", { version: "9.9.9", engines: { node: ">=22.22" }, devDependencies: { typescript: "^6.0.3", "@types/node": "^26.6.6", vitest: "^5" } })) as Record<string, unknown>;
    expect(manifest).toMatchObject({ dependencies: { "flash-ts": "9.9.9" }, devDependencies: { typescript: "^6.0.3", "@types/node": "^26.6.6" }, engines: { node: ">=22.22" } });
    expect(manifest.devDependencies).not.toHaveProperty("vitest");
  });
});
