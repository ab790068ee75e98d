import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveDependencySet } from "../../../src/worker/dependency-installer.js";
import { withDirLock } from "../../../src/worker/dir-lock.js";
import { tempDir } from "../../helpers/worker-bundles.js";

describe("resolveDependencySet", () => {
  it("sorts, de-duplicates and drops flash-ts itself", () => {
    const a = resolveDependencySet(["b@1", "a@2", "b@1", "flash-ts@0.1.0", "flash-ts"]);
    expect(a.specs).toEqual(["a@2", "b@1"]);
    expect(a.key).toMatch(/^[0-9a-f]{16}$/);
    expect(resolveDependencySet(["a@2", "b@1"]).key).toBe(a.key);
    expect(resolveDependencySet([]).key).toBe("none");
    expect(resolveDependencySet(undefined).key).toBe("none");
    expect(resolveDependencySet(["flash-ts"]).key).toBe("none");
  });

  it("refuses specs npm would read as options", () => {
    expect(() => resolveDependencySet(["--registry=http://evil"])).toThrow(/not an npm package spec/);
    expect(() => resolveDependencySet(["a b"])).toThrow(/not an npm package spec/);
  });
});

describe("withDirLock", () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeAll(async () => (dir = await tempDir()));
  afterAll(() => dir.remove());

  it("runs holders one at a time", async () => {
    const lock = join(dir.path, "x.lock");
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let waiting!: () => void;
    const secondWaits = new Promise<void>((r) => (waiting = r));
    let entered!: () => void;
    const firstIn = new Promise<void>((r) => (entered = r));
    const first = withDirLock(lock, async () => {
      order.push("first in");
      entered();
      await gate;
      order.push("first out");
    });
    await firstIn;
    const second = withDirLock(lock, async () => void order.push("second"), { pollMs: 10, onWait: waiting });
    await secondWaits;
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(["first in", "first out", "second"]);
    await expect(access(lock)).rejects.toThrow();
  });

  it("takes over a lock whose owner process is gone", async () => {
    const lock = join(dir.path, "stale.lock");
    await mkdir(lock);
    const { writeFile } = await import("node:fs/promises");
    const { hostname } = await import("node:os");
    await writeFile(join(lock, "owner.json"), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
    expect(await withDirLock(lock, async () => "got it", { pollMs: 10 })).toBe("got it");
  });
});
