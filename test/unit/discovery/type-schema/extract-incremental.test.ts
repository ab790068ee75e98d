/**
 * Re-extraction after edits: only changed files are parsed again, the
 * previous program's module resolution is kept when that is safe, and the
 * schemas always follow the files on disk.
 */
import { join } from "node:path";
import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTypeSchemaExtractor } from "../../../../src/discovery/type-schema/extractor.js";
import type { TypeSchemaExtractor } from "../../../../src/discovery/type-schema/extractor.js";
import { copyProject, REF, target, writeFile } from "./helpers.js";

const TARGETS = [target("workers/users.ts", "createUser"), target("workers/misc.ts", "text"), target("workers/kinds.ts", "everything")];

let root: string;
let extractor: TypeSchemaExtractor;

beforeAll(() => {
  root = copyProject();
  extractor = createTypeSchemaExtractor({ root });
});
afterAll(() => extractor.dispose());

function edit(rel: string, change: (text: string) => string): void {
  writeFile(root, rel, change(readFileSync(join(root, rel), "utf8")));
}

describe("incremental extraction", () => {
  it("parses only the edited file and keeps the module resolution", () => {
    const first = extractor.extract(TARGETS);
    expect(first.stats.program).toMatchObject({ reusedStructure: false });
    expect(first.stats.program.parsedFiles).toBe(first.stats.program.sourceFiles);
    expect(first.definitions.User!.properties).not.toHaveProperty("nickname");

    edit("models/user.ts", (text) => text.replace("  name: string;", "  name: string;\n  nickname?: string;"));
    const second = extractor.extract(TARGETS, { changedPaths: ["models/user.ts"] });
    expect(second.stats.program).toMatchObject({ parsedFiles: 1, reusedStructure: true, sourceFiles: first.stats.program.sourceFiles });
    expect(second.definitions.User!.properties!.nickname).toEqual({ type: "string" });
  });

  it("resolves modules afresh when a changed path is new to the program", () => {
    writeFile(root, "models/extra.ts", "export interface Extra { flag: boolean }\n");
    edit("workers/misc.ts", (text) => text.replace("async (input: string) => input.length", 'async (input: import("../models/extra.js").Extra) => (input.flag ? 1 : 0)'));
    const set = extractor.extract(TARGETS, { changedPaths: [join(root, "models/extra.ts"), join(root, "workers/misc.ts")] });
    expect(set.stats.program.reusedStructure).toBe(false);
    expect(set.stats.program.parsedFiles).toBe(2);
    expect(set.functions["workers/misc.ts#text"]!.input).toEqual({ $ref: `${REF}Extra` });
    expect(set.definitions.Extra).toEqual({ title: "Extra", type: "object", properties: { flag: { type: "boolean" } }, required: ["flag"] });
  });

  it("notices edits on disk even when not told which files changed", () => {
    edit("models/address.ts", (text) => text.replace("  city: string;", "  city: string;\n  country: string;"));
    const set = extractor.extract(TARGETS);
    expect(set.stats.program).toMatchObject({ parsedFiles: 1, reusedStructure: false });
    expect(set.definitions.Address!.required).toContain("country");
  });

  it("drops a deleted file's types and reports a target whose file is gone", () => {
    rmSync(join(root, "models/extra.ts"));
    const set = extractor.extract([...TARGETS, target("models/extra.ts", "nothing")], { changedPaths: ["models/extra.ts"] });
    // The import no longer resolves: the parameter type is an error type, documented as any.
    expect(set.functions["workers/misc.ts#text"]!.input).toEqual({ "x-flash-any": "any" });
    expect(set.issues).toEqual([{ id: "models/extra.ts#nothing", file: "models/extra.ts", message: "the file could not be read" }]);
  });

  it("keeps working while a file has a syntax error, with what the parser recovers", () => {
    edit("workers/misc.ts", (text) => text.replace("export const text", "export const text = = ;\nexport const text2"));
    const set = extractor.extract(TARGETS, { changedPaths: ["workers/misc.ts"] });
    expect(set.functions["workers/users.ts#createUser"]!.output).toEqual({ $ref: `${REF}User` });
    expect(set.functions["workers/misc.ts#text"]).toBeDefined();
  });
});
