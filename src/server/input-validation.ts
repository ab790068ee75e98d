/**
 * Checks a function's input against the JSON Schema generated from its
 * parameter type (`common/json-schema.ts`, the subset `discovery/type-schema`
 * produces) and lists every mismatch by JSON path, for a
 * `422 INVALID_INPUT`:
 *
 *   $.input.items[2].name: expected string, got number
 *
 * A small interpreter rather than a general validator: it knows exactly the
 * keywords we generate, reports paths in this form, picks the branch of a
 * union the value was meant for, and its work is bounded by the size of the
 * value. The choice is explained in docs/type-schemas.md ("Validation").
 *
 * Two conversions make the function receive what its type says:
 * - `reviveDates`: a valid date-time string where the type is `Date` becomes
 *   a Date (the value codec then carries it to the worker as a Date);
 * - `coerceKeys`: top-level keys whose values came from a query string or a
 *   path parameter (always strings) are converted to the number, boolean or
 *   null the type asks for when the text is exactly that.
 */
import { AppError } from "../common/errors.js";
import { definitionName, jsonPathKey, resolveRef } from "../common/json-schema.js";
import type { JsonSchema, JsonTypeName } from "../common/json-schema.js";

/** One place where the input does not match. */
export interface InputMismatch {
  /** JSON path (`$.input.items[2].name`). */
  path: string;
  /** `expected string, got number`, `missing (expected number)`, … */
  message: string;
}

export interface InputValidationOptions {
  /** Named schemas that `$ref`s point at (`#/components/schemas/<name>` or `#/$defs/<name>`). */
  definitions?: Readonly<Record<string, JsonSchema>>;
  /** Path of the value itself. Default `$`; `$.input` for a queue request's `input`. */
  rootPath?: string;
  /** Mismatches listed before stopping. Default 20. */
  maxMismatches?: number;
  /** Nesting of the value past which it is refused. Default 512 (the dev server's body limit). */
  maxDepth?: number;
  /** Top-level keys whose string values may be converted to the number, boolean or null their schema wants. */
  coerceKeys?: readonly string[];
  /** Turn date-time strings into Date where the schema is a `Date`. Default false. */
  reviveDates?: boolean;
}

/** The input matches (`value` is the input after the conversions asked for), or it does not. */
export type InputValidation =
  | { ok: true; value: unknown }
  | { ok: false; mismatches: InputMismatch[]; /** The list stopped at maxMismatches (there may be more), or the check was cut short. */ truncated: boolean };

/** Schema nodes visited per value node before the check gives up (unions try several branches). */
const STEPS_PER_NODE = 32;
const BASE_STEPS = 10_000;

class Budget {
  steps = 0;
  exhausted = false;
  constructor(readonly limit: number) {}
  take(): boolean {
    if (++this.steps > this.limit) this.exhausted = true;
    return !this.exhausted;
  }
}

/**
 * A JSON path, built as a chain and turned into text only for a mismatch:
 * formatting every visited key was most of the cost of checking a valid value.
 */
interface Path {
  readonly up?: Path;
  readonly key?: string;
  readonly index?: number;
  /** The root's text (`$`, `$.input`). */
  readonly root?: string;
}

const child = (up: Path, key: string): Path => ({ up, key });
const item = (up: Path, index: number): Path => ({ up, index });

function pathText(path: Path): string {
  const parts: string[] = [];
  let p: Path | undefined = path;
  for (; p && p.root === undefined; p = p.up) parts.push(p.key !== undefined ? jsonPathKey(p.key) : `[${p.index}]`);
  return (p?.root ?? "$") + parts.reverse().join("");
}

/** Where mismatches go; a trial (one branch of a union) stops at the first. */
class Collector {
  readonly mismatches: InputMismatch[] = [];
  truncated = false;
  constructor(readonly max: number) {}
  add(path: Path, message: string): void {
    if (this.mismatches.length >= this.max) {
      this.truncated = true;
      return;
    }
    this.mismatches.push({ path: pathText(path), message });
  }
  get full(): boolean {
    return this.mismatches.length >= this.max;
  }
}

function kindOf(value: unknown): JsonTypeName | "undefined" | "other" {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "string":
      return "string";
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "object":
      return "object";
    case "undefined":
      return "undefined";
    default:
      return "other";
  }
}

function admits(type: JsonTypeName, value: unknown): boolean {
  const kind = kindOf(value);
  if (type === "integer") return kind === "number" && Number.isInteger(value);
  if (type === "number") return kind === "number" && Number.isFinite(value);
  return type === kind;
}

function snippet(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}


const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, not assignment: a key named "__proto__" stays an ordinary key.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

class Validator {
  readonly #definitions: Readonly<Record<string, JsonSchema>>;
  readonly #budget: Budget;
  readonly #reviveDates: boolean;

  constructor(definitions: Readonly<Record<string, JsonSchema>>, budget: Budget, reviveDates: boolean) {
    this.#definitions = definitions;
    this.#budget = budget;
    this.#reviveDates = reviveDates;
  }

  resolve(schema: JsonSchema): JsonSchema {
    return resolveRef(schema, this.#definitions);
  }

  describe(schema: JsonSchema, depth = 0): string {
    if (schema.$ref !== undefined) return definitionName(schema.$ref) ?? "anything";
    if (schema.const !== undefined) return snippet(schema.const);
    if (schema.enum) return `one of ${schema.enum.slice(0, 8).map(snippet).join(", ")}${schema.enum.length > 8 ? ", …" : ""}`;
    if (schema.anyOf && depth < 2) return [...new Set(schema.anyOf.map((m) => this.describe(m, depth + 1)))].join(" or ");
    if (schema.format === "date-time") return "a date-time string (ISO 8601)";
    if (schema.not && Object.keys(schema.not).length === 0) return "nothing (never)";
    if (Array.isArray(schema.type)) return schema.type.join(" or ");
    if (schema.type) return schema.type;
    return "anything";
  }

  /** Checks `value`; returns it, or a copy with conversions applied. */
  check(schema: JsonSchema, value: unknown, path: Path, out: Collector, depth: number): unknown {
    if (out.full || !this.#budget.take()) return value;
    const s = this.resolve(schema);
    if (s["x-flash-any"] !== undefined) return value;
    if (s.not !== undefined) {
      const trial = new Collector(1);
      this.check(s.not, value, path, trial, depth);
      if (trial.mismatches.length === 0) out.add(path, `expected ${this.describe(s)}, got ${kindOf(value)}`);
      return value;
    }
    if (s.anyOf) return this.#anyOf(s, value, path, out, depth);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? s.type : [s.type];
      if (!types.some((t) => admits(t, value))) {
        out.add(path, `expected ${this.describe(s)}, got ${kindOf(value)}`);
        return value;
      }
    }
    if (s.const !== undefined && !sameJson(s.const, value)) {
      out.add(path, `expected ${snippet(s.const)}, got ${snippet(value)}`);
      return value;
    }
    if (s.enum && !s.enum.some((v) => sameJson(v, value))) {
      out.add(path, `expected ${this.describe({ enum: s.enum })}, got ${snippet(value)}`);
      return value;
    }
    if (typeof value === "string" && s.format === "date-time") {
      if (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
        out.add(path, `expected a date-time string (ISO 8601, e.g. 2025-01-01T00:00:00Z), got ${snippet(value)}`);
        return value;
      }
      return this.#reviveDates && s["x-flash-type"] === "Date" ? new Date(value) : value;
    }
    if (depth >= MAX_DEPTH_GUARD) return value;
    if (Array.isArray(value)) return this.#array(s, value, path, out, depth);
    if (kindOf(value) === "object") return this.#object(s, value as Record<string, unknown>, path, out, depth, undefined);
    return value;
  }

  #anyOf(s: JsonSchema, value: unknown, path: Path, out: Collector, depth: number): unknown {
    const branches = s.anyOf!;
    // Only branches whose type admits the value are worth trying (cheap, and keeps unions linear).
    const candidates = branches.filter((b) => {
      const r = this.resolve(b);
      if (r.anyOf || r.type === undefined) return true;
      return (Array.isArray(r.type) ? r.type : [r.type]).some((t) => admits(t, value));
    });
    for (const branch of candidates) {
      const trial = new Collector(1);
      const result = this.check(branch, value, path, trial, depth);
      if (this.#budget.exhausted) return value;
      if (trial.mismatches.length === 0) return result;
    }
    // Report the branch the value was meant for: the only candidate, or the one whose constant fields (a discriminator) match.
    const meant = candidates.length === 1 ? candidates : candidates.filter((b) => this.#discriminatorMatches(b, value));
    if (meant.length === 1) return this.check(meant[0]!, value, path, out, depth);
    if (this.#discriminatorMismatch(candidates, value, path, out)) return value;
    out.add(path, `expected ${this.describe(s)}, got ${kindOf(value) === "object" || kindOf(value) === "array" ? kindOf(value) : snippet(value)}`);
    return value;
  }

  #discriminatorMatches(branch: JsonSchema, value: unknown): boolean {
    const r = this.resolve(branch);
    if (kindOf(value) !== "object" || !r.properties) return false;
    const record = value as Record<string, unknown>;
    const constants = Object.entries(r.properties).filter(([, p]) => this.resolve(p).const !== undefined);
    return constants.length > 0 && constants.every(([key, p]) => Object.hasOwn(record, key) && sameJson(this.resolve(p).const, record[key]));
  }

  /** Tagged unions (`{kind: "a", …} | {kind: "b", …}`) whose tag matches no branch: name the tag. */
  #discriminatorMismatch(candidates: JsonSchema[], value: unknown, path: Path, out: Collector): boolean {
    if (kindOf(value) !== "object" || candidates.length < 2) return false;
    const branches = candidates.map((b) => this.resolve(b).properties ?? {});
    const key = Object.keys(branches[0]!).find((k) => branches.every((props) => Object.hasOwn(props, k) && this.resolve(props[k]!).const !== undefined));
    if (key === undefined) return false;
    const expected = `one of ${branches.map((props) => snippet(this.resolve(props[key]!).const)).join(", ")}`;
    const record = value as Record<string, unknown>;
    if (!Object.hasOwn(record, key)) out.add(child(path, key), `missing (expected ${expected})`);
    else out.add(child(path, key), `expected ${expected}, got ${snippet(record[key])}`);
    return true;
  }

  #array(s: JsonSchema, value: unknown[], path: Path, out: Collector, depth: number): unknown {
    if (s.minItems !== undefined && value.length < s.minItems) out.add(path, `expected at least ${s.minItems} items, got ${value.length}`);
    if (s.maxItems !== undefined && value.length > s.maxItems) out.add(path, `expected at most ${s.maxItems} items, got ${value.length}`);
    let copy: unknown[] | undefined;
    const prefix = s.prefixItems ?? [];
    for (let i = 0; i < value.length && !out.full && !this.#budget.exhausted; i++) {
      const itemSchema = i < prefix.length ? prefix[i] : s.items;
      if (itemSchema === undefined) continue;
      if (itemSchema === false) break; // maxItems already reported it
      const checked = this.check(itemSchema, value[i], item(path, i), out, depth + 1);
      if (checked !== value[i]) (copy ??= [...value])[i] = checked;
    }
    return copy ?? value;
  }

  #object(s: JsonSchema, value: Record<string, unknown>, path: Path, out: Collector, depth: number, coerce: ReadonlySet<string> | undefined): unknown {
    const properties = s.properties ?? {};
    for (const key of s.required ?? []) {
      if (!Object.hasOwn(value, key)) out.add(child(path, key), `missing (expected ${this.describe(Object.hasOwn(properties, key) ? properties[key]! : {})})`);
    }
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(value)) {
      if (out.full || this.#budget.exhausted) break;
      const propSchema = Object.hasOwn(properties, key) ? properties[key] : s.additionalProperties;
      if (propSchema === undefined || propSchema === true) continue;
      const keyPath = child(path, key);
      if (propSchema === false) {
        out.add(keyPath, "unexpected property");
        continue;
      }
      const original = value[key];
      let result: unknown;
      if (coerce?.has(key) && typeof original === "string") result = this.#coerced(propSchema, original, keyPath, out, depth);
      else result = this.check(propSchema, original, keyPath, out, depth + 1);
      if (result !== original) setOwn((copy ??= { ...value }), key, result);
    }
    return copy ?? value;
  }

  /** A query or path value: the text as it is if the schema takes it, else the number, boolean or null it spells. */
  #coerced(schema: JsonSchema, text: string, path: Path, out: Collector, depth: number): unknown {
    const asText = new Collector(1);
    const kept = this.check(schema, text, path, asText, depth + 1);
    if (asText.mismatches.length === 0) return kept;
    const options: unknown[] = [];
    if (NUMBER_TEXT.test(text.trim()) && Number.isFinite(Number(text))) options.push(Number(text));
    if (text === "true" || text === "false") options.push(text === "true");
    if (text === "null") options.push(null);
    for (const option of options) {
      const trial = new Collector(1);
      const converted = this.check(schema, option, path, trial, depth + 1);
      if (trial.mismatches.length === 0) return converted;
    }
    // A plain type that takes no text (number, boolean): show the text that was sent, not "got string".
    const s = this.resolve(schema);
    if (!s.anyOf && s.type !== undefined && !(Array.isArray(s.type) ? s.type : [s.type]).some((t) => admits(t, text))) {
      out.add(path, `expected ${this.describe(s)}, got ${snippet(text)}`);
      return text;
    }
    return this.check(schema, text, path, out, depth + 1);
  }

  checkRoot(schema: JsonSchema, value: unknown, path: Path, out: Collector, coerce: ReadonlySet<string> | undefined): unknown {
    const s = this.resolve(schema);
    if (coerce && coerce.size > 0 && kindOf(value) === "object" && !s.anyOf && s["x-flash-any"] === undefined && (s.type === "object" || s.type === undefined)) {
      if (!this.#budget.take()) return value;
      return this.#object(s, value as Record<string, unknown>, path, out, 0, coerce);
    }
    return this.check(schema, value, path, out, 0);
  }
}

/** Recursion guard for the check itself; deeper values were already refused by the depth pre-pass. */
const MAX_DEPTH_GUARD = 4096;

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Node count and depth of a JSON value, without recursion; stops counting past `maxDepth`. */
function measure(value: unknown, maxDepth: number): { nodes: number; tooDeep: boolean } {
  let nodes = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    nodes++;
    if (v === null || typeof v !== "object") continue;
    if (d >= maxDepth) return { nodes, tooDeep: true };
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const child of children) stack.push([child, d + 1]);
  }
  return { nodes, tooDeep: false };
}

/** Validates `value` against `schema`; see the module comment. Work is bounded by the value's size. */
export function validateInput(schema: JsonSchema, value: unknown, options: InputValidationOptions = {}): InputValidation {
  const rootPath = options.rootPath ?? "$";
  const maxDepth = options.maxDepth ?? 512;
  const { nodes, tooDeep } = measure(value, maxDepth);
  if (tooDeep) return { ok: false, mismatches: [{ path: rootPath, message: `nested deeper than ${maxDepth} levels` }], truncated: true };
  const budget = new Budget(BASE_STEPS + STEPS_PER_NODE * nodes);
  const out = new Collector(Math.max(1, options.maxMismatches ?? 20));
  const validator = new Validator(options.definitions ?? {}, budget, options.reviveDates ?? false);
  const coerce = options.coerceKeys ? new Set(options.coerceKeys) : undefined;
  const result = validator.checkRoot(schema, value, { root: rootPath }, out, coerce);
  if (budget.exhausted) {
    out.mismatches.length = Math.min(out.mismatches.length, out.max - 1);
    out.mismatches.push({ path: rootPath, message: "too complex to check against the parameter type (its unions allow too many readings)" });
    return { ok: false, mismatches: out.mismatches, truncated: true };
  }
  // A full list stopped the check early: there may be more.
  if (out.mismatches.length > 0) return { ok: false, mismatches: out.mismatches, truncated: out.truncated || out.full };
  return { ok: true, value: result };
}

/** The `422 INVALID_INPUT` error for a failed validation, listing each mismatch (`details.mismatches`). */
export function invalidInputError(result: Extract<InputValidation, { ok: false }>, functionName: string): AppError {
  const first = result.mismatches.slice(0, 3).map((m) => `${m.path}: ${m.message}`).join("; ");
  const more = result.mismatches.length > 3 || result.truncated ? " (and more, see mismatches)" : "";
  return new AppError("INVALID_INPUT", `The input does not match the parameter type of ${functionName}: ${first}${more}`, {
    hint: "Fix the listed fields; GET /docs shows the expected shape with an example.",
    details: { mismatches: result.mismatches, ...(result.truncated ? { truncated: true } : {}) },
  });
}
