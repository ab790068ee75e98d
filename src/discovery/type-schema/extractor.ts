/**
 * Schemas of remote functions from their TypeScript types, without running
 * user code: the synchronous core. It loads the TypeScript compiler, so the
 * dev server runs it in a worker thread (`schema-service.ts`); tests and the
 * benchmark use it directly.
 *
 *   const extractor = createTypeSchemaExtractor({ root });
 *   const set = extractor.extract([{ id: "workers/a.ts#run", file: "workers/a.ts", export: "run" }]);
 *   // after a save:
 *   const next = extractor.extract(targets, { changedPaths: ["/abs/workers/a.ts"] });
 *
 * See docs/type-schemas.md.
 */
import { isAbsolute, resolve } from "node:path";
import ts from "typescript";
import type { JsonSchema } from "../../common/json-schema.js";
import type { JsonValue } from "../../common/value-codec.js";
import { locateFunction } from "./locate-function.js";
import type { LocatedFunction } from "./locate-function.js";
import { createProjectProgram } from "./program-host.js";
import type { ProgramStats } from "./program-host.js";
import { hasGlobalEffect, moduleClosure } from "./module-closure.js";
import type { ModuleClosure } from "./module-closure.js";
import { collectNotes, exampleOf, reachableDefinitions } from "./schema-walk.js";
import type { SchemaNote } from "./schema-walk.js";
import { DefinitionTable, SchemaConverter } from "./type-to-schema.js";

/** One remote function to describe (a manifest `FunctionEntry` has these fields). */
export interface SchemaTarget {
  /** The entry id (`<file>#<export>[.<method>]`); results are keyed by it. */
  id: string;
  /** Project-relative file (`workers/gpu.ts`). */
  file: string;
  /** Export name (`default` for a default export). */
  export: string;
  /** For `@remote` classes: the method. */
  method?: string;
}

/** The schemas of one function. `$ref`s point into {@link SchemaSet.definitions} as `#/components/schemas/<name>`. */
export interface FunctionSchemas {
  id: string;
  /** First paragraph of the JSDoc. */
  summary?: string;
  /** The rest of the JSDoc. */
  description?: string;
  /** The schema of the function's argument; null when it declares no parameter (the input is ignored). */
  input: JsonSchema | null;
  /** False when the parameter is optional (or absent). */
  inputRequired: boolean;
  /** The schema of the awaited return value, as JSON (a Date is its ISO string). */
  output: JsonSchema;
  /** False when the function returns nothing (void / undefined). */
  returnsValue: boolean;
  /** An example input: the JSDoc `@example` when it is JSON, else one built from the schema. Absent when there is no input. */
  example?: JsonValue;
  /** Places in the input and output that are "any" and not validated. */
  notes: { input: SchemaNote[]; output: SchemaNote[] };
}

/** A function whose schemas could not be made; it is served, documented as "any" and not validated. */
export interface SchemaIssue {
  id: string;
  file: string;
  message: string;
}

export interface SchemaSet {
  /** By target id. Every target has an entry (with "any" schemas when it has an issue). */
  functions: Record<string, FunctionSchemas>;
  /** Named types, for `components.schemas`. */
  definitions: Record<string, JsonSchema>;
  issues: SchemaIssue[];
  stats: {
    durationMs: number;
    program: ProgramStats;
    functions: number;
    /** Functions whose schemas were carried over: none of the files they depend on changed. */
    reusedFunctions: number;
    definitions: number;
  };
}

export interface ExtractOptions {
  /** Files changed since the last extract (absolute or root-relative), when known: lets the compiler keep its module resolution. */
  changedPaths?: readonly string[];
}

export interface TypeSchemaExtractor {
  /** Describes `targets`. Never throws for problems in user code: they become issues. */
  extract(targets: readonly SchemaTarget[], options?: ExtractOptions): SchemaSet;
  /** Frees the cached program. */
  dispose(): void;
}

export interface TypeSchemaExtractorOptions {
  /** Project root (where tsconfig.json is looked for). */
  root: string;
  /** Definition names not to use (the OpenAPI document's own components: Error, QueueRequest, …). */
  reservedNames?: readonly string[];
}

const ANY_INPUT: JsonSchema = { "x-flash-any": "no schema" };

/** What one function's last extraction produced, to carry over while its files are unchanged. */
interface Previous {
  target: SchemaTarget;
  result: FunctionSchemas;
  issue?: SchemaIssue;
  /** Files the result depends on (its module closure). */
  closure: ModuleClosure;
  /** Definitions it reaches: name → stable key (if it has one) and schema. */
  definitions: Map<string, { key: string | undefined; schema: JsonSchema }>;
}

const sameTarget = (a: SchemaTarget, b: SchemaTarget): boolean => a.file === b.file && a.export === b.export && a.method === b.method;

function splitDoc(text: string): { summary?: string; description?: string } {
  const trimmed = text.trim();
  if (!trimmed) return {};
  const [first = "", ...rest] = trimmed.split(/\n\s*\n/);
  const description = rest.join("\n\n").trim();
  return { summary: first.replace(/\s*\n\s*/g, " "), ...(description ? { description } : {}) };
}

function jsDocTag(symbols: readonly ts.Symbol[], name: string): string[] {
  const out: string[] = [];
  for (const symbol of symbols) {
    for (const tag of symbol.getJsDocTags()) if (tag.name === name && tag.text) out.push(ts.displayPartsToString(tag.text).trim());
  }
  return out;
}

function parseExample(texts: readonly string[]): JsonValue | undefined {
  for (const text of texts) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      // not JSON: an example written as code, which the docs page cannot send
    }
  }
  return undefined;
}

/** Creates an extractor for one project; the compiler's parsed files are kept between calls. */
export function createTypeSchemaExtractor(options: TypeSchemaExtractorOptions): TypeSchemaExtractor {
  const root = resolve(options.root);
  const project = createProjectProgram(root);
  const abs = (path: string): string => (isAbsolute(path) ? path : resolve(root, path));
  let previousFiles = new Map<string, ts.SourceFile>();
  let previous = new Map<string, Previous>();

  const describe = (checker: ts.TypeChecker, converter: SchemaConverter, target: SchemaTarget, found: LocatedFunction): Omit<FunctionSchemas, "notes"> => {
    const { signature, docSymbols } = found;
    const doc = docSymbols.map((s) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim()).find((d) => d.length > 0) ?? "";
    const [param] = signature.getParameters();
    let input: JsonSchema | null = null;
    let inputRequired = false;
    if (param) {
      const decl = param.valueDeclaration;
      let type: ts.Type | undefined = checker.getTypeOfSymbol(param);
      let optional = decl !== undefined && ts.isParameter(decl) && checker.isOptionalParameter(decl);
      if (decl && ts.isParameter(decl) && decl.dotDotDotToken) {
        // (...args: T[]) or (...args: [input: T]), as SDK wrappers declare Parameters<F>: the input is the first argument.
        if (checker.isTupleType(type)) {
          optional = (type as ts.TupleTypeReference).target.minLength === 0;
          type = checker.getTypeArguments(type as ts.TypeReference)[0]; // undefined for (...args: []): no input
        } else if (checker.isArrayType(type)) {
          optional = true;
          type = checker.getTypeArguments(type as ts.TypeReference)[0];
        }
      }
      if (type) {
        input = converter.convert(type);
        inputRequired = !optional && !converter.acceptsUndefined(type);
      }
      const paramDoc =
        ts.displayPartsToString(param.getDocumentationComment(checker)).trim() ||
        jsDocTag(docSymbols, "param")
          .map((text) => text.match(new RegExp(`^${param.getName()}\\s+(?:-\\s*)?([\\s\\S]+)$`))?.[1]?.trim())
          .find((text) => text);
      if (paramDoc && input) input = { ...input, description: paramDoc };
    }
    const returned = checker.getReturnTypeOfSignature(signature);
    const awaited = checker.getAwaitedType(returned) ?? returned;
    const returnsValue = !(awaited.flags & (ts.TypeFlags.Void | ts.TypeFlags.Undefined | ts.TypeFlags.Never));
    const output = returnsValue ? converter.convert(awaited) : { type: "null" as const, description: "The function returns nothing." };
    const example = input ? parseExample(jsDocTag(docSymbols, "example")) : undefined;
    return {
      id: target.id,
      ...splitDoc(doc),
      input,
      inputRequired,
      output,
      returnsValue,
      ...(example !== undefined ? { example } : {}),
    };
  };

  return {
    extract(targets, extractOptions = {}) {
      const started = performance.now();
      const files = [...new Set(targets.map((t) => abs(t.file)))].sort();
      const changedPaths = extractOptions.changedPaths?.map(abs);
      const { program, stats } = project.update(files, changedPaths);
      const checker = program.getTypeChecker();

      // Files whose parsed form differs from the last run's (added, changed or removed).
      const currentFiles = new Map(program.getSourceFiles().map((f) => [f.fileName, f] as const));
      const changed = new Set<string>();
      let added = false;
      for (const [name, file] of currentFiles) {
        if (previousFiles.get(name) !== file) changed.add(name);
        if (!previousFiles.has(name)) added = true;
      }
      for (const name of previousFiles.keys()) if (!currentFiles.has(name)) changed.add(name);
      // New compiler options reparse every file, so every function is recomputed anyway.
      const global = [...changed].some((name) => {
        const file = currentFiles.get(name) ?? previousFiles.get(name);
        return file !== undefined && !program.isSourceFileDefaultLibrary(file) && hasGlobalEffect(file);
      });

      const defs = new DefinitionTable(options.reservedNames);
      const converter = new SchemaConverter(program, defs);
      const next = new Map<string, Previous>();
      const fresh: { target: SchemaTarget; partial: Omit<FunctionSchemas, "notes">; issue?: SchemaIssue }[] = [];
      let reused = 0;
      for (const target of [...targets].sort((a, b) => a.id.localeCompare(b.id))) {
        const before = previous.get(target.id);
        const stale = !before || !sameTarget(before.target, target) || (before.closure.open && added) || [...before.closure.files].some((f) => changed.has(f));
        if (!global && before && !stale) {
          for (const [name, d] of before.definitions) defs.carry(name, d.key, d.schema);
          next.set(target.id, before);
          reused++;
          continue;
        }
        const sourceFile = program.getSourceFile(abs(target.file));
        const found = sourceFile ? locateFunction(checker, sourceFile, target.export, target.method) : "the file could not be read";
        if (typeof found === "string") {
          fresh.push({ target, partial: { id: target.id, input: ANY_INPUT, inputRequired: false, output: ANY_INPUT, returnsValue: true }, issue: { id: target.id, file: target.file, message: found } });
          continue;
        }
        try {
          fresh.push({ target, partial: describe(checker, converter, target, found) });
        } catch (error) {
          // A checker crash on odd code must not take the other functions' schemas with it.
          const message = `the types could not be read: ${error instanceof Error ? error.message : String(error)}`;
          fresh.push({ target, partial: { id: target.id, input: ANY_INPUT, inputRequired: false, output: ANY_INPUT, returnsValue: true }, issue: { id: target.id, file: target.file, message } });
        }
      }
      const definitions = defs.toRecord();
      for (const { target, partial, issue } of fresh) {
        const notes = { input: partial.input ? collectNotes(partial.input, definitions) : [], output: collectNotes(partial.output, definitions) };
        const example = partial.example ?? (partial.input ? exampleOf(partial.input, definitions) : undefined);
        const result: FunctionSchemas = { ...partial, ...(example !== undefined ? { example } : {}), notes };
        const reached = reachableDefinitions(partial.input ? [partial.input, partial.output] : [partial.output], definitions);
        next.set(target.id, {
          target,
          result,
          ...(issue ? { issue } : {}),
          closure: moduleClosure(program, checker, abs(target.file)),
          definitions: new Map([...reached].map((name) => [name, { key: defs.keyOf(name), schema: definitions[name]! }])),
        });
      }
      previous = next;
      previousFiles = currentFiles;
      const functions: Record<string, FunctionSchemas> = {};
      const issues: SchemaIssue[] = [];
      for (const id of [...next.keys()].sort()) {
        const entry = next.get(id)!;
        functions[id] = entry.result;
        if (entry.issue) issues.push(entry.issue);
      }
      return {
        functions,
        definitions,
        issues,
        stats: {
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          program: stats,
          functions: next.size,
          reusedFunctions: reused,
          definitions: Object.keys(definitions).length,
        },
      };
    },
    dispose() {
      project.dispose();
      previous = new Map();
      previousFiles = new Map();
    },
  };
}
