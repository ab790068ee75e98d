/**
 * A bad resources.json: corrupt, empty or partly malformed, it is kept aside
 * and reported, and reads go on with what could be read; a newer version's
 * file is refused and never rewritten.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createResourceCache } from "../../../src/provision/resource-cache.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { asideFiles, entry } from "./state-fixtures.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-state-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("a bad resources.json", () => {
  for (const [what, text] of [
    ["corrupt", '{ "version": 1, "endpoints": { "local:live-a": '],
    ["empty", ""],
    ["not a cache", "[1, 2, 3]"],
  ] as const) {
    it(`(${what}) is kept aside, reported with its path, and read as empty`, async () => {
      await writeFile(join(dir, "resources.json"), text);
      const logger = createMemoryLogger();
      const cache = createResourceCache(dir, logger);
      expect(await cache.list()).toEqual([]);
      const [aside] = await asideFiles(dir, "resources.json");
      expect(aside).toBeDefined();
      expect(await readFile(join(dir, aside!), "utf8")).toBe(text);
      expect(logger.lines.some((l) => l.includes(join(dir, "resources.json")) && l.includes(join(dir, aside!)))).toBe(true);
      expect(cache.setAside).toEqual([join(dir, aside!)]);
      // Writing works again, and the kept file stays.
      await cache.put(entry("live-b", "ep-b"));
      expect((await cache.list()).map((e) => e.id)).toEqual(["ep-b"]);
      expect(await asideFiles(dir, "resources.json")).toEqual([aside]);
    });
  }

  it("(some malformed entries) keeps the readable ones, and the original aside", async () => {
    const text = JSON.stringify({ version: 1, endpoints: { "local:live-a": entry("live-a", "ep-a"), "local:live-x": { name: "live-x" } } });
    await writeFile(join(dir, "resources.json"), text);
    const logger = createMemoryLogger();
    const cache = createResourceCache(dir, logger);
    expect((await cache.list()).map((e) => e.id)).toEqual(["ep-a"]);
    const [aside] = await asideFiles(dir, "resources.json");
    expect(await readFile(join(dir, aside!), "utf8")).toBe(text);
    expect(logger.lines.some((l) => l.includes("1 malformed"))).toBe(true);
  });

  it("(a newer version) is refused, naming both versions, and never rewritten", async () => {
    const text = JSON.stringify({ version: 2, endpoints: { "local:live-a": { whatever: true } } });
    await writeFile(join(dir, "resources.json"), text);
    const cache = createResourceCache(dir);
    const refusal = { code: "CONFLICT", message: expect.stringMatching(/version 2.*reads version 1/) };
    await expect(cache.list()).rejects.toMatchObject(refusal);
    await expect(cache.put(entry("live-b", "ep-b"))).rejects.toMatchObject(refusal);
    await expect(cache.remove("local", "live-a")).rejects.toMatchObject(refusal);
    expect(await readFile(join(dir, "resources.json"), "utf8")).toBe(text);
    expect(await asideFiles(dir, "resources.json")).toEqual([]);
  });

  it("(unreadable: a folder in its place) reads as empty with a warning, and writes fail", async () => {
    await mkdir(join(dir, "resources.json"));
    const logger = createMemoryLogger();
    const cache = createResourceCache(dir, logger);
    expect(await cache.get("local", "live-a")).toBeUndefined();
    expect(logger.lines.some((l) => l.includes("Cannot read") && l.includes("resources.json"))).toBe(true);
    await expect(cache.put(entry("live-a", "ep-a"))).rejects.toMatchObject({ code: "EISDIR" });
  });

  it("removes an entry by name only when the id matches, if one is given", async () => {
    const cache = createResourceCache(dir);
    await cache.put(entry("live-a", "ep-a"));
    await cache.remove("local", "live-a", "ep-other");
    expect((await cache.list()).map((e) => e.id)).toEqual(["ep-a"]);
    await cache.remove("local", "live-a", "ep-a");
    expect(await cache.list()).toEqual([]);
  });

});
