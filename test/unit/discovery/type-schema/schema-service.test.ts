/**
 * The schema service: extraction in a real worker thread (the TypeScript
 * compiler never loads in the caller's thread), requests coalesced while
 * one runs, failures reported as outcomes, and close().
 */
import { afterAll, describe, expect, it } from "vitest";
import { createTypeSchemaService } from "../../../../src/discovery/type-schema/index.js";
import type { TypeSchemaService } from "../../../../src/discovery/type-schema/index.js";
import { copyProject, REF, target, writeFile } from "./helpers.js";

const services: TypeSchemaService[] = [];
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
});

function open(root: string, options: { timeoutMs?: number } = {}): TypeSchemaService {
  const service = createTypeSchemaService({ root, reservedNames: ["Error"], ...options });
  services.push(service);
  return service;
}

describe("createTypeSchemaService", () => {
  it("extracts in a worker thread and re-extracts after an edit", async () => {
    const root = copyProject();
    const service = open(root);
    const first = await service.extract([target("workers/users.ts", "createUser")]);
    if (first.status !== "done") throw new Error(`expected done, got ${first.status}`);
    expect(first.set.functions["workers/users.ts#createUser"]!.output).toEqual({ $ref: `${REF}User` });
    expect(first.set.definitions.User!.required).toEqual(["id", "name", "role", "tags", "createdAt"]);
    // The compiler was loaded in the thread only.
    expect(Object.keys(await import("node:module").then((m) => m.createRequire(import.meta.url).cache ?? {})).some((k) => k.includes("/typescript/lib/typescript.js"))).toBe(false);

    writeFile(root, "models/address.ts", "export interface Address { line: string }\n");
    const second = await service.extract([target("workers/users.ts", "createUser")], { changedPaths: ["models/address.ts"] });
    if (second.status !== "done") throw new Error(`expected done, got ${second.status}`);
    expect(second.set.definitions.Address).toEqual({ title: "Address", type: "object", properties: { line: { type: "string" } }, required: ["line"] });
    expect(second.set.stats.program).toMatchObject({ parsedFiles: 1, reusedStructure: true });
  });

  it("replaces a waiting request with a newer one, which is told every path changed meanwhile", async () => {
    const root = copyProject();
    // misc.ts imports a module that does not exist yet: its parameter type is unresolved.
    writeFile(root, "workers/misc.ts", 'import type { Later } from "../models/later.js";\nexport const text = async (input: Later) => input.at;\n');
    const service = open(root);
    const before = await service.extract([target("workers/misc.ts", "text")]);
    expect(before.status === "done" && before.set.functions["workers/misc.ts#text"]!.input).toEqual({ "x-flash-any": "any" });

    const running = service.extract([target("workers/misc.ts", "text")], { changedPaths: [] });
    writeFile(root, "models/later.ts", "export interface Later { at: string }\n");
    const replaced = service.extract([target("workers/misc.ts", "text")], { changedPaths: ["models/later.ts"] });
    // The newest request names no change; only the replaced one knew about later.ts. Without it,
    // the old module resolution (later.js: not found) would be kept for the unchanged misc.ts.
    const latest = service.extract([target("workers/misc.ts", "text")], { changedPaths: [] });
    expect((await running).status).toBe("done");
    expect(await replaced).toEqual({ status: "superseded" });
    const outcome = await latest;
    if (outcome.status !== "done") throw new Error(`expected done, got ${outcome.status}`);
    expect(outcome.set.functions["workers/misc.ts#text"]!.input).toEqual({ $ref: `${REF}Later` });
    expect(outcome.set.stats.program.reusedStructure).toBe(false);
  });

  it("reports a thread that runs out of time as failed, and starts a new thread next time", async () => {
    const service = open(copyProject(), { timeoutMs: 1 });
    const outcome = await service.extract([target("workers/misc.ts", "text")]);
    expect(outcome.status).toBe("failed");
    expect(outcome.status === "failed" && outcome.error.code).toBe("INTERNAL");
    expect(outcome.status === "failed" && outcome.error.message).toBe("Type schemas took longer than 1 ms");
  });

  it("answers DISPOSED after close(), for waiting and later requests", async () => {
    const service = open(copyProject());
    const running = service.extract([target("workers/misc.ts", "text")]);
    const waiting = service.extract([target("workers/misc.ts", "text")]);
    await service.close();
    for (const outcome of [await running, await waiting, await service.extract([])]) {
      expect(outcome.status).toBe("failed");
      expect(outcome.status === "failed" && outcome.error.code).toBe("DISPOSED");
    }
  });
});

describe.skipIf(process.platform !== "linux")("the schema thread's priority", () => {
  it("runs the compiler at the lowest CPU priority (nice 19), so the reload path is served first", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const niceOfThreads = (): number[] =>
      readdirSync("/proc/self/task").map((tid) => {
        // Fields after the command name (which may hold spaces): nice is the 19th field overall.
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
      });
    // The other tests' threads are gone first.
    await Promise.all(services.splice(0).map((s) => s.close()));
    expect(niceOfThreads()).not.toContain(19);
    const service = open(copyProject());
    const outcome = await service.extract([target("workers/misc.ts", "text")]);
    expect(outcome.status).toBe("done");
    expect(niceOfThreads()).toContain(19);
  });
});
