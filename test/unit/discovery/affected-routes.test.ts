/** What a change may alter, known before it is discovered: the route prefixes of the changed files and of the files importing them. */
import { describe, expect, it } from "vitest";
import { openDiscovery, qbModule, writeProject } from "./helpers.js";

describe("affectedRoutes", () => {
  it("names the changed file's prefix and those of the files whose bundle includes it", async () => {
    const root = writeProject({
      "package.json": '{ "type": "module" }',
      "lib/text.ts": "export const shout = (s: string): string => s.toUpperCase();\n",
      "a.ts": 'import { remote, CpuLiveServerless } from "flash-ts";\nimport { shout } from "./lib/text.js";\nexport const a = remote(new CpuLiveServerless({ name: "a" }), async () => shout("a"));\n',
      "workers/b.ts": qbModule("b"),
      "c.ts": qbModule("c"),
    });
    const discovery = openDiscovery({ root });
    expect(discovery.affectedRoutes(["a.ts"]), "before the first scan").toBe("all");
    await discovery.discover();
    const sorted = (paths: string[]): string[] | "all" => {
      const scope = discovery.affectedRoutes(paths);
      return scope === "all" ? scope : [...scope].sort();
    };

    expect(sorted(["lib/text.ts"])).toEqual(["/a", "/lib/text"]);
    expect(discovery.affectedRoutes([`${root}/workers/b.ts`])).toEqual(["/workers/b"]);
    expect(discovery.affectedRoutes(["new/file.ts"]), "a new file").toEqual(["/new/file"]);
    expect(sorted(["lib"]), "a folder").toEqual(["/a", "/lib"]);
    expect(discovery.affectedRoutes(["README.md"])).toEqual(["/README"]);
    for (const config of ["package.json", "tsconfig.json", ".gitignore", ".flashignore", "."]) {
      expect(discovery.affectedRoutes(["c.ts", config]), config).toBe("all");
    }
  });
});
