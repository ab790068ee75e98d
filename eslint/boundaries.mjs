// Who may import whom inside src/ (docs/internals.md, "Layout and who may
// import whom"), as one ESLint rule. test/unit/lint/boundaries.test.ts checks
// that the doc's table lists exactly these rules.
//
// Why a rule of our own rather than `no-restricted-imports` or
// eslint-plugin-import's `no-restricted-paths`: the layout has three kinds of
// permission — any import, types only, and only lazily through `import()` —
// and core `no-restricted-imports` never sees `import()` (so "lazily only"
// could not be told from "anything goes") and matches the import text, not
// the file it names (`../runpod/x.js` from `sdk/` and `../../runpod/x.js`
// from `discovery/type-schema/` are one target). `no-restricted-paths`
// resolves files but needs a TypeScript resolver plugin for our `.js`
// specifiers and cannot say "types only". Here a specifier is resolved
// against the importing file once, and the table below reads like the doc.

import { dirname, join, relative, resolve, sep } from "node:path";

/**
 * Per area (a folder of src/): what it may import from other areas. Entries
 * are an area (`runpod`) or one file (`runpod/wire-types.ts`).
 * - `value`: anything (values, types, `import()`);
 * - `type`: `import type` / `export type` / `import("…").T` only;
 * - `lazy`: `import()` (and types), never a static value import.
 * An area may always import itself. `"*"` is every area.
 */
export const AREA_RULES = {
  common: {},
  sdk: { value: ["common"], type: ["runpod"], lazy: ["runpod/index.ts"] },
  discovery: { value: ["common", "sdk"] },
  watch: { value: ["common"] },
  runpod: { value: ["common"] },
  container: { value: ["common"] },
  init: { value: ["common", "container"] },
  calls: { value: ["common", "runpod/errors.ts", "runpod/wire-types.ts"], type: ["sdk", "runpod"] },
  worker: { value: ["common", "sdk", "calls", "runpod/wire-types.ts"], lazy: ["runpod"] },
  emulator: {
    value: ["common", "runpod/wire-types.ts", "runpod/wire-schemas.ts", "container/labels.ts"],
    type: ["container/container-runtime.ts"],
    lazy: ["container"],
  },
  provision: { value: ["common", "sdk", "worker/bootstrap/start-command.ts"], type: ["runpod"] },
  server: { value: ["common"], type: ["discovery", "sdk"] },
  dev: { value: ["common", "sdk", "discovery", "watch", "server", "provision", "runpod", "calls", "emulator", "worker", "container"] },
  cli: { value: ["*"] },
};

/**
 * npm packages only some files may load (values; a type import is free).
 * dockerode and chokidar cost time to load; an undici dispatcher holds
 * sockets, so each one is a decision (docs/internals.md, same section).
 */
export const PACKAGE_RULES = {
  dockerode: ["container/docker-container-runtime.ts"],
  chokidar: ["watch/chokidar-watcher.ts"],
  undici: ["runpod/http.ts", "worker/platform-client.ts"],
};

const AREAS = Object.keys(AREA_RULES);

function matches(entries, target) {
  return (entries ?? []).some((entry) => entry === "*" || entry === target.area || entry === target.file);
}

/** The first error for `kind` ("value" | "type" | "lazy") of `from` importing `target`, or undefined. */
export function judgeImport(fromArea, target, kind) {
  const rules = AREA_RULES[fromArea];
  if (!rules || target.area === fromArea) return undefined;
  if (target.area === "cli" || (target.area === "dev" && fromArea !== "cli")) return `${fromArea}/ may not import ${target.file}`;
  if (matches(rules.value, target)) return undefined;
  if (kind === "type" && (matches(rules.type, target) || matches(rules.lazy, target))) return undefined;
  if (kind === "lazy" && matches(rules.lazy, target)) return undefined;
  if (kind === "value" && matches(rules.lazy, target)) return `${fromArea}/ may load ${target.file} only lazily, with import()`;
  if (kind !== "type" && matches(rules.type, target)) return `${fromArea}/ may import only types from ${target.file}`;
  return `${fromArea}/ may not import ${target.file}`;
}

/** The area and src-relative file a specifier names, or undefined when it leaves src/ or names a package. */
function resolveTarget(srcRoot, filename, specifier) {
  if (!specifier.startsWith(".")) return undefined;
  const abs = resolve(dirname(filename), specifier);
  const rel = relative(srcRoot, abs).split(sep).join("/");
  if (rel.startsWith("..") || rel === "") return undefined;
  const file = rel.replace(/\.js$/, ".ts");
  const area = file.split("/")[0];
  return AREAS.includes(area) ? { area, file } : undefined;
}

function packageName(specifier) {
  if (specifier.startsWith(".") || specifier.startsWith("node:")) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function allSpecifiersAreTypes(node, key) {
  return node.specifiers.length > 0 && node.specifiers.every((s) => s[key] === "type");
}

/** @type {import("eslint").Rule.RuleModule} */
const importsRule = {
  meta: {
    type: "problem",
    docs: { description: "Imports between src/ folders follow docs/internals.md, \"Layout and who may import whom\"" },
    schema: [],
  },
  create(context) {
    const filename = context.filename;
    const srcRoot = join(context.cwd, "src");
    const relFile = relative(srcRoot, filename).split(sep).join("/");
    if (relFile.startsWith("..")) return {};
    const fromArea = relFile.split("/")[0];
    if (!(fromArea in AREA_RULES)) return {};

    const check = (node, specifier, kind) => {
      if (typeof specifier !== "string") return;
      const pkg = packageName(specifier);
      if (pkg !== undefined) {
        const allowed = PACKAGE_RULES[pkg];
        if (allowed && kind !== "type" && !allowed.includes(relFile)) {
          context.report({ node, message: `only ${allowed.join(", ")} may load ${pkg} (docs/internals.md, "Layout and who may import whom")` });
        }
        return;
      }
      const target = resolveTarget(srcRoot, filename, specifier);
      if (!target) return;
      const problem = judgeImport(fromArea, target, kind);
      if (problem) context.report({ node, message: `${problem} (docs/internals.md, "Layout and who may import whom")` });
    };

    return {
      ImportDeclaration(node) {
        const type = node.importKind === "type" || allSpecifiersAreTypes(node, "importKind");
        check(node, node.source.value, type ? "type" : "value");
      },
      ExportNamedDeclaration(node) {
        if (!node.source) return;
        const type = node.exportKind === "type" || allSpecifiersAreTypes(node, "exportKind");
        check(node, node.source.value, type ? "type" : "value");
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === "type" ? "type" : "value");
      },
      ImportExpression(node) {
        if (node.source.type === "Literal") check(node, node.source.value, "lazy");
      },
      TSImportType(node) {
        const source = node.source ?? node.argument?.literal;
        if (source) check(node, source.value, "type");
      },
    };
  },
};

export default { meta: { name: "flash-ts-boundaries" }, rules: { imports: importsRule } };
