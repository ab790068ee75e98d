/** Dependencies named by a path outside the project, mounted where npm inside the dev container looks for them. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findOutsideDependencies, outsideDependencyMounts } from "../../src/container/local-dependencies.js";
import { createDevContainerSpec } from "../../src/container/dev-container-spec.js";
import { AppError } from "../../src/common/errors.js";

describe("dependencies outside the project", () => {
  let base: string;
  let project: string;
  beforeEach(() => {
    // base/a/app is the project; base/a and base hold things next to and above it.
    base = mkdtempSync(join(tmpdir(), "flash-localdeps-"));
    project = join(base, "a", "app");
    mkdirSync(join(project, "vendor"), { recursive: true });
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const write = (name: string, value: unknown): void => writeFileSync(join(project, name), JSON.stringify(value));
  const touch = (path: string): string => {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, "x");
    return path;
  };

  it("mounts a tarball next to the project where `npm ci` inside resolves it, read-only", () => {
    const tarball = touch(join(base, "a", "flash-ts-0.1.0.tgz"));
    write("package.json", { dependencies: { "flash-ts": "file:../flash-ts-0.1.0.tgz", ms: "2.1.3" } });
    write("package-lock.json", {
      lockfileVersion: 3,
      packages: { "": {}, "node_modules/flash-ts": { version: "0.1.0", resolved: "file:../flash-ts-0.1.0.tgz" }, "node_modules/ms": { resolved: "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz" } },
    });
    const deps = findOutsideDependencies(project);
    expect(deps).toEqual([{ source: "package.json", spec: "file:../flash-ts-0.1.0.tgz", hostPath: tarball, containerPath: "/flash-ts-0.1.0.tgz" }]);
    expect(outsideDependencyMounts(deps)).toEqual([{ type: "bind", source: tarball, target: "/flash-ts-0.1.0.tgz", readOnly: true }]);
  });

  it("finds a linked folder in the lockfile, and ignores paths inside the project, registry versions and paths that do not exist", () => {
    mkdirSync(join(base, "flash-ts"));
    touch(join(project, "vendor", "inside.tgz"));
    write("package.json", { dependencies: { a: "file:vendor/inside.tgz", b: "^1.0.0", c: "file:../nowhere.tgz" }, devDependencies: { d: "./vendor" } });
    write("package-lock.json", { packages: { "node_modules/flash-ts": { resolved: "../../flash-ts", link: true } } });
    expect(findOutsideDependencies(project)).toEqual([
      { source: "package-lock.json", spec: "file:../../flash-ts", hostPath: join(base, "flash-ts"), containerPath: "/flash-ts" },
    ]);
  });

  it("refuses a path that would cover a folder the container needs, or land where another one does, naming it", () => {
    mkdirSync(join(base, "a", "usr"));
    write("package.json", { dependencies: { tools: "file:../usr" } });
    const covering = (() => {
      try {
        outsideDependencyMounts(findOutsideDependencies(project));
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(covering).toBeInstanceOf(AppError);
    expect(covering).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining('"file:../usr"') as unknown, hint: expect.stringMatching(/inside the project/) as unknown });

    // base/a/x.tgz and base/x.tgz both land on /x.tgz: from /workspace, `..` stops at /.
    touch(join(base, "a", "x.tgz"));
    touch(join(base, "x.tgz"));
    write("package.json", { dependencies: { one: "file:../x.tgz", two: "file:../../x.tgz" } });
    const clash = (() => {
      try {
        outsideDependencyMounts(findOutsideDependencies(project));
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(clash).toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("/x.tgz") as unknown, hint: expect.stringMatching(/"file:\.\.\/x\.tgz"/) as unknown });
  });

  it("are part of the container spec", () => {
    const spec = createDevContainerSpec({
      projectRoot: "/home/ada/app",
      image: "flash-dev:test",
      hostIp: "127.0.0.1",
      hostPort: 8888,
      publicUrl: "http://localhost:8888",
      devArgs: [],
      env: {},
      interactive: false,
      version: "0.0.0",
      owner: { host: "h", pid: 1 },
      extraMounts: [{ type: "bind", source: "/home/ada/flash-ts-0.1.0.tgz", target: "/flash-ts-0.1.0.tgz", readOnly: true }],
    });
    expect(spec.mounts).toContainEqual({ type: "bind", source: "/home/ada/flash-ts-0.1.0.tgz", target: "/flash-ts-0.1.0.tgz", readOnly: true });
  });
});
