/**
 * Wire shapes are valibot schemas (docs/internals.md, "Wire shapes"): each is
 * defined once, the validating side parses with it and the producing side is
 * typed from it. This module is what they share: objects whose messages name
 * the bad field, and issues as `path` + `message`.
 *
 * Why valibot: a schema is plain function calls that esbuild tree-shakes, so
 * the worker runtime (bundled into one file by scripts/build-runtime.mjs)
 * carries only the validators it uses; zod's classes come whole, and ajv
 * compiles JSON Schema to code at run time, which costs a start and a
 * dependency tree far larger than the shapes it checks.
 */
import * as v from "valibot";
import { isRecord } from "./is-record.js";

type AnySchema = v.GenericSchema;
type Entries = Record<string, AnySchema>;
type KeyIssue = v.BaseIssue<unknown>;

/** One problem: where (`module.hash`, `cpu[0].id`; "" for the value itself) and what. */
export interface SchemaProblem {
  path: string;
  message: string;
}

/** The message a schema was given (a pipe's first schema's) for `issue`, if it has one. */
function messageOf(schema: AnySchema | undefined, issue: KeyIssue): string | undefined {
  if (!schema) return undefined;
  const root = (schema as { pipe?: readonly AnySchema[] }).pipe?.[0] ?? schema;
  const message = (root as { message?: unknown }).message;
  if (typeof message === "function") return String((message as (issue: KeyIssue) => unknown)(issue));
  return typeof message === "string" ? message : undefined;
}

function lastKey(issue: KeyIssue): string {
  return String(issue.path?.at(-1)?.key ?? "");
}

/**
 * The message of an object's own issues: an unknown key (strict objects)
 * names the key; a missing one says what its field expects (`missing[key]`,
 * else the field schema's own message); anything else is `message`.
 */
export function objectMessage(entries: Entries, message: string, missing: Record<string, string> = {}): (issue: KeyIssue) => string {
  return (issue) => {
    if (issue.path?.at(-1)?.origin !== "key") return message;
    const key = lastKey(issue);
    if (issue.expected === "never") return `additional properties '${key}' not allowed`;
    return missing[key] ?? messageOf(entries[key], issue) ?? "is required";
  };
}

// valibot's objects take arrays too; a wire object never is one, so each is a record first.

/** An object that drops keys it does not know. */
export function fields<const E extends Entries>(entries: E, message: string, missing: Partial<Record<keyof E & string, string>> = {}) {
  return v.pipe(v.custom<Record<string, unknown>>(isRecord, message), v.object(entries, objectMessage(entries, message, missing as Record<string, string>)));
}

/** An object that keeps keys it does not know, as they are. */
export function looseFields<const E extends Entries>(entries: E, message: string, missing: Partial<Record<keyof E & string, string>> = {}) {
  return v.pipe(v.custom<Record<string, unknown>>(isRecord, message), v.looseObject(entries, objectMessage(entries, message, missing as Record<string, string>)));
}

/** An object that refuses keys it does not know (`additional properties 'x' not allowed`). */
export function strictFields<const E extends Entries>(entries: E, message: string, missing: Partial<Record<keyof E & string, string>> = {}) {
  return v.pipe(v.custom<Record<string, unknown>>(isRecord, message), v.strictObject(entries, objectMessage(entries, message, missing as Record<string, string>)));
}

/** An array of strings, judged whole (`ports: expected array of strings`), without copying it. */
export function stringArray(message: string) {
  return v.custom<string[]>((value) => Array.isArray(value) && value.every((item) => typeof item === "string"), message);
}

/** Where an issue is, as `a.b[0].c` ("" for the value itself). An unknown key is the object's problem, so it is located at the object. */
export function issuePath(issue: KeyIssue): string {
  const items = issue.path ?? [];
  const upTo = issue.expected === "never" && items.at(-1)?.origin === "key" ? items.length - 1 : items.length;
  let path = "";
  for (let i = 0; i < upTo; i++) {
    const key = items[i]!.key;
    path += typeof key === "number" ? `[${key}]` : path === "" ? String(key) : `.${String(key)}`;
  }
  return path;
}

/** Every issue as a path and a message. */
export function describeIssues(issues: readonly KeyIssue[]): SchemaProblem[] {
  return issues.map((issue) => ({ path: issuePath(issue), message: issue.message }));
}
