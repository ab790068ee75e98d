/**
 * What typed /docs will need from Endpoint exports (not wired into the
 * server yet): the type-schema extractor finds the function behind each
 * export of examples/endpoints — `ep.fn(fn)`, `Endpoint.fn(options, fn)`,
 * `api.post(path, fn)`, a decorated class's methods — with its parameter and
 * return types and the export's JSDoc, with and without the SDK's own types.
 */
import { cpSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTypeSchemaExtractor } from "../../../src/discovery/type-schema/extractor.js";
import type { SchemaTarget, TypeSchemaExtractor } from "../../../src/discovery/type-schema/extractor.js";
import { REPO_ROOT } from "../../helpers/paths.js";

const dirs: string[] = [];
const extractors: TypeSchemaExtractor[] = [];
afterAll(() => {
  extractors.forEach((e) => e.dispose());
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const target = (file: string, name: string, method?: string): SchemaTarget => ({ id: `${file}#${name}${method ? `.${method}` : ""}`, file, export: name, ...(method ? { method } : {}) });
const TARGETS = [target("gpu_worker.ts", "gpuHello"), target("cpu_worker.ts", "cpuReverse"), target("api.ts", "compute"), target("api.ts", "getItem"), target("classifier.ts", "Classifier", "classify")];

function extract(withSdkTypes: boolean) {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "flash-endpoint-schemas-")));
  dirs.push(root);
  cpSync(join(REPO_ROOT, "examples", "endpoints"), root, { recursive: true });
  const paths = withSdkTypes ? { paths: { "flash-ts": [join(REPO_ROOT, "src", "sdk", "index.ts")] } } : {};
  writeFileSync(join(root, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2023", module: "ESNext", moduleResolution: "Bundler", strict: true, ...paths } }));
  const extractor = createTypeSchemaExtractor({ root });
  extractors.push(extractor);
  return extractor.extract(TARGETS);
}

describe("schemas of Endpoint exports", () => {
  it.each([false, true])("are read from the function passed last, with the export's JSDoc (SDK types resolved: %s)", (withSdkTypes) => {
    const set = extract(withSdkTypes);
    expect(set.issues).toEqual([]);
    expect(set.functions["cpu_worker.ts#cpuReverse"]).toMatchObject({
      summary: "Reverses a text.",
      input: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
      output: { type: "object", properties: { reversed: { type: "string" }, length: { type: "number" } } },
    });
    expect(set.functions["api.ts#compute"]).toMatchObject({
      summary: "Sums and averages a list of numbers.",
      input: { type: "object", properties: { numbers: { type: "array", items: { type: "number" } } }, required: ["numbers"] },
    });
    expect(set.functions["api.ts#getItem"]).toMatchObject({ summary: "One item; the path parameter arrives in the input.", output: { type: "object", properties: { id: { type: "string" }, name: { type: "string" } } } });
    expect(set.functions["gpu_worker.ts#gpuHello"]).toMatchObject({ summary: "Says hello from a GPU worker, naming the card it runs on.", inputRequired: true });
    expect(set.functions["classifier.ts#Classifier.classify"]).toMatchObject({ summary: "Labels a text positive, negative or neutral by its words.", input: { type: "string" } });
  }, 30_000);
});
