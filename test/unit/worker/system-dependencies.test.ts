/**
 * systemDependencies on the worker: parsing FLASH_SYSTEM_DEPENDENCIES, and the
 * installer's decisions (what is missing, install or only check, root, apt's
 * error, the marker) with a recorded command runner. apt itself runs in the
 * container tests (test/container/runpod-standin.docker.test.ts).
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { createSystemDependencies, parseSystemDependencies } from "../../../src/worker/system-dependencies.js";
import type { CommandRunner } from "../../../src/worker/system-dependencies.js";

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "flash-sysdeps-"))));
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A runner that knows which packages are installed and what apt-get answers. */
function fakeSystem(installed: string[], apt: { code: number; lines: string[] } = { code: 0, lines: ["Setting up ffmpeg"] }) {
  const calls: string[] = [];
  const run: CommandRunner = async (command, args, _env, onLine) => {
    calls.push([command, ...args].join(" "));
    if (command === "dpkg-query") {
      const names = args.slice(2);
      return { code: names.every((n) => installed.includes(n)) ? 0 : 1, output: names.map((n) => (installed.includes(n) ? `${n} installed` : `dpkg-query: no packages found matching ${n}`)).join("\n") };
    }
    for (const line of apt.lines) onLine(line);
    if (args[0] === "install" && apt.code === 0) installed.push(...args.filter((a) => !a.startsWith("-") && a !== "install"));
    return { code: apt.code, output: apt.lines.join("\n") };
  };
  return { run, calls };
}

describe("parseSystemDependencies", () => {
  it("splits on spaces and commas, sorts and de-duplicates", () => {
    expect(parseSystemDependencies(" ffmpeg,libgl1  ffmpeg curl=7.88.1-10 ")).toEqual(["curl=7.88.1-10", "ffmpeg", "libgl1"]);
    expect(parseSystemDependencies(undefined)).toEqual([]);
  });

  it.each(["--allow-unauthenticated", "Foo", "a;rm", "$(x)"])("refuses %s", (name) => {
    expect(() => parseSystemDependencies(name)).toThrow(/not a Debian package name/);
  });
});

describe("system dependency installer", () => {
  it("installs what is missing once, shows apt's output, and leaves a marker", async () => {
    const system = fakeSystem(["libgl1"]);
    const deps = createSystemDependencies({ packages: ["ffmpeg", "libgl1"], mode: "install", cacheDir: dir, logger: createMemoryLogger(), run: system.run, uid: 0 });
    const lines: string[] = [];
    await Promise.all([deps.ensure((l) => lines.push(l)), deps.ensure(() => {})]);
    expect(system.calls.filter((c) => c.startsWith("apt-get"))).toEqual(["apt-get update -q", "apt-get install -y -q --no-install-recommends ffmpeg"]);
    expect(lines).toContain("Setting up ffmpeg");
    await deps.ensure(() => {});
    expect(system.calls.filter((c) => c.startsWith("apt-get"))).toHaveLength(2);
    // A new runtime in the same container finds the marker and asks nobody.
    const again = fakeSystem([]);
    await createSystemDependencies({ packages: ["ffmpeg", "libgl1"], mode: "install", cacheDir: dir, logger: createMemoryLogger(), run: again.run, uid: 0 }).ensure(() => {});
    expect(again.calls).toEqual([]);
    expect((await readdir(dir)).some((f) => f.startsWith("system-deps-"))).toBe(true);
  });

  it("runs nothing when everything is installed", async () => {
    const system = fakeSystem(["ffmpeg"]);
    await createSystemDependencies({ packages: ["ffmpeg"], mode: "install", cacheDir: dir, logger: createMemoryLogger(), run: system.run, uid: 0 }).ensure(() => {});
    expect(system.calls).toEqual(["dpkg-query -W -f=${Package} ${db:Status-Status}\n ffmpeg"]);
  });

  it("fails the call with apt's own error, and tries again on the next call", async () => {
    const system = fakeSystem([], { code: 100, lines: ["E: Unable to locate package nosuchpkg"] });
    const deps = createSystemDependencies({ packages: ["nosuchpkg"], mode: "install", cacheDir: dir, logger: createMemoryLogger(), run: system.run, uid: 0 });
    await expect(deps.ensure(() => {})).rejects.toMatchObject({ kind: "dependencies", message: expect.stringMatching(/apt-get update -q failed \(exit 100\):\nE: Unable to locate package nosuchpkg/) });
    await expect(deps.ensure(() => {})).rejects.toMatchObject({ kind: "dependencies" });
    expect(system.calls.filter((c) => c.startsWith("apt-get update"))).toHaveLength(2);
  });

  it("never installs in check mode: missing packages fail the call with what to do", async () => {
    const system = fakeSystem([]);
    const deps = createSystemDependencies({ packages: ["ffmpeg"], mode: "check", cacheDir: dir, logger: createMemoryLogger(), run: system.run, uid: 0 });
    await expect(deps.ensure(() => {})).rejects.toMatchObject({ kind: "dependencies", message: expect.stringMatching(/ffmpeg are not installed here.*FLASH_EMULATOR_WORKERS=container/) });
    expect(system.calls.some((c) => c.startsWith("apt-get"))).toBe(false);
  });

  it("says that apt-get needs root when the image runs as another user", async () => {
    const deps = createSystemDependencies({ packages: ["ffmpeg"], mode: "install", cacheDir: dir, logger: createMemoryLogger(), run: fakeSystem([]).run, uid: 1000 });
    await expect(deps.ensure(() => {})).rejects.toMatchObject({ kind: "dependencies", message: expect.stringMatching(/needs root.*uid 1000/) });
  });
});
