/**
 * TypeScript type → JSON Schema, read from the type checker (no user code
 * runs). Named types (interfaces, classes, enums, type aliases declared
 * outside the standard library, generic instantiations) become shared
 * definitions referenced with `$ref`, which is also how recursive types
 * terminate. A type JSON cannot carry becomes `{}` marked with
 * `x-flash-any: <reason>`: it is documented as "any" and not validated. The
 * mapping and the list of such types are in docs/type-schemas.md.
 */
import ts from "typescript";
import { DEFINITIONS_PREFIX } from "../../common/json-schema.js";
import type { JsonSchema, JsonTypeName } from "../../common/json-schema.js";
import type { JsonValue } from "../../common/value-codec.js";

/** Nesting of types past which a type is given up as "any" (endless generic expansions). */
const MAX_DEPTH = 64;
/** Named definitions per extraction; past it new named types become "any". */
const MAX_DEFINITIONS = 2000;

/** Built-in objects that have no JSON form, by name, when declared by the standard library. */
const NOT_JSON_BUILTINS = new Set([
  "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "RegExp", "Error", "Promise", "PromiseLike", "Function",
  "ArrayBuffer", "SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
  "Uint16Array", "Int32Array", "Uint32Array", "Float16Array", "Float32Array", "Float64Array", "BigInt64Array",
  "BigUint64Array", "Iterator", "IterableIterator", "AsyncIterable", "AsyncIterableIterator", "Generator",
  "AsyncGenerator", "Symbol", "ReadableStream", "Blob", "URL",
]);

/** An unconstrained schema standing for a type that has no JSON schema. */
export function anySchema(reason: string): JsonSchema {
  return { "x-flash-any": reason };
}

/**
 * The named schemas of one extraction, shared by every function in it.
 * Each definition also has a key that stays the same across programs
 * (declaring file, position, label), so definitions carried over from the
 * previous extraction (for functions whose files did not change) are
 * referred to, not built again under a second name.
 */
export class DefinitionTable {
  readonly schemas = new Map<string, JsonSchema>();
  readonly #names = new Map<ts.Type, string>();
  /** Definitions carried over from the previous extraction, by stable key. */
  readonly #carried = new Map<string, string>();
  readonly #keys = new Map<string, string>();
  readonly #taken: Set<string>;

  constructor(reserved: readonly string[] = []) {
    this.#taken = new Set(reserved);
  }

  /** Adds a definition from an earlier extraction, under its name and stable key. */
  carry(name: string, key: string | undefined, schema: JsonSchema): void {
    this.#taken.add(name);
    this.schemas.set(name, schema);
    if (key === undefined) return;
    this.#carried.set(key, name);
    this.#keys.set(name, key);
  }

  /** The stable key of a definition. */
  keyOf(name: string): string | undefined {
    return this.#keys.get(name);
  }

  /**
   * The definition name already given to `type` in this extraction, or
   * carried over under its key. Within one extraction types are told apart by
   * identity; the key only links to the previous one.
   */
  nameOf(type: ts.Type, key: string | undefined): string | undefined {
    const known = this.#names.get(type) ?? (key === undefined ? undefined : this.#carried.get(key));
    if (known) this.#names.set(type, known);
    return known;
  }

  /** Gives `type` a unique name derived from `label`; undefined when the table is full. A definition without a key is never carried over. */
  claim(type: ts.Type, label: string, key: string | undefined): string | undefined {
    if (this.schemas.size >= MAX_DEFINITIONS) return undefined;
    const base = sanitizeName(label);
    let name = base;
    for (let n = 2; this.#taken.has(name); n++) name = `${base}_${n}`;
    this.#taken.add(name);
    this.#names.set(type, name);
    if (key !== undefined) this.#keys.set(name, key);
    this.schemas.set(name, {}); // placeholder: a recursive reference finds the name while the body is built
    return name;
  }

  toRecord(): Record<string, JsonSchema> {
    return Object.fromEntries([...this.schemas].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** `Page<User[]>` → `Page_UserList`: names usable as OpenAPI component keys ([A-Za-z0-9._-]). */
export function sanitizeName(label: string): string {
  const name = label.replace(/\[\]/g, "List").replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "");
  return name || "Type";
}

function docText(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
}

function isDeprecated(symbol: ts.Symbol): boolean {
  return symbol.getJsDocTags().some((tag) => tag.name === "deprecated");
}

/** Converts checker types to schemas, filling a shared {@link DefinitionTable}. */
export class SchemaConverter {
  readonly #checker: ts.TypeChecker;
  readonly #program: ts.Program;
  readonly #defs: DefinitionTable;

  constructor(program: ts.Program, defs: DefinitionTable) {
    this.#program = program;
    this.#checker = program.getTypeChecker();
    this.#defs = defs;
  }

  /** The schema of `type`. */
  convert(type: ts.Type): JsonSchema {
    return this.#convert(type, 0);
  }

  /** True when `type` includes `undefined` or `void` (a property or parameter that may be left out). */
  acceptsUndefined(type: ts.Type): boolean {
    const parts = type.isUnion() ? type.types : [type];
    return parts.some((t) => (t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) !== 0);
  }

  #convert(type: ts.Type, depth: number): JsonSchema {
    if (depth > MAX_DEPTH) return anySchema("nested too deeply");
    const f = type.flags;
    if (f & ts.TypeFlags.Any) return anySchema("any");
    if (f & ts.TypeFlags.Unknown) return anySchema("unknown");
    if (f & ts.TypeFlags.Never) return { not: {} };
    if (f & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) return anySchema("undefined");
    if (f & ts.TypeFlags.Null) return { type: "null" };
    if (f & ts.TypeFlags.Union) {
      const union = type as ts.UnionType;
      if (f & ts.TypeFlags.EnumLiteral) return this.#named(type, () => enumBody(union)) ?? enumBody(union);
      return this.#named(type, () => this.#union(union, depth + 1)) ?? this.#union(union, depth);
    }
    if (f & ts.TypeFlags.StringLiteral) return { type: "string", const: (type as ts.StringLiteralType).value };
    if (f & ts.TypeFlags.NumberLiteral) return { type: "number", const: (type as ts.NumberLiteralType).value };
    if (f & ts.TypeFlags.BooleanLiteral) return { type: "boolean", const: type === this.#checker.getTrueType() };
    if (f & (ts.TypeFlags.String | ts.TypeFlags.TemplateLiteral | ts.TypeFlags.StringMapping)) return { type: "string" };
    if (f & ts.TypeFlags.Number) return { type: "number" };
    if (f & ts.TypeFlags.Boolean) return { type: "boolean" };
    if (f & (ts.TypeFlags.BigInt | ts.TypeFlags.BigIntLiteral)) return anySchema("bigint");
    if (f & (ts.TypeFlags.ESSymbol | ts.TypeFlags.UniqueESSymbol)) return anySchema("symbol");
    if (f & ts.TypeFlags.NonPrimitive) return { type: ["object", "array"] };
    if (f & ts.TypeFlags.Intersection) return this.#intersection(type as ts.IntersectionType, depth);
    if (f & ts.TypeFlags.Object) return this.#object(type as ts.ObjectType, depth);
    // Type parameters and unresolved generic forms (T[K], conditional types): their constraint, if any.
    const constraint = this.#checker.getBaseConstraintOfType(type);
    if (constraint && constraint !== type && !(constraint.flags & ts.TypeFlags.Unknown)) return this.#convert(constraint, depth + 1);
    return anySchema(f & ts.TypeFlags.TypeParameter ? "unconstrained type parameter" : "unresolved generic type");
  }

  #union(type: ts.UnionType, depth: number): JsonSchema {
    const members = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
    if (members.length === 0) return anySchema("undefined");
    const out: JsonSchema[] = [];
    // Members of one enum that are all present stand for the enum itself.
    const byEnum = new Map<ts.Symbol, ts.Type[]>();
    const rest: ts.Type[] = [];
    for (const t of members) {
      const parent = t.flags & ts.TypeFlags.EnumLiteral ? this.#enumOf(t) : undefined;
      if (parent) byEnum.set(parent, [...(byEnum.get(parent) ?? []), t]);
      else rest.push(t);
    }
    for (const [enumSymbol, literals] of byEnum) {
      const whole = this.#checker.getDeclaredTypeOfSymbol(enumSymbol);
      const size = whole.isUnion() ? whole.types.length : 1;
      if (literals.length === size) out.push(this.#convert(whole, depth + 1));
      else rest.push(...literals);
    }
    // `true | false` is how the checker spells boolean.
    const bools = rest.filter((t) => t.flags & ts.TypeFlags.BooleanLiteral);
    const others = bools.length === 2 ? rest.filter((t) => !(t.flags & ts.TypeFlags.BooleanLiteral)) : rest;
    if (bools.length === 2) out.push({ type: "boolean" });
    const hasNull = others.some((t) => t.flags & ts.TypeFlags.Null);
    const literals = others.filter((t) => t.flags & (ts.TypeFlags.StringLiteral | ts.TypeFlags.NumberLiteral | ts.TypeFlags.BooleanLiteral));
    const nonLiterals = others.filter((t) => !literals.includes(t) && !(t.flags & ts.TypeFlags.Null));
    for (const t of nonLiterals) out.push(this.#convert(t, depth + 1));
    if (literals.length > 0) {
      const values = literals.map((t) => (this.#convert(t, depth + 1).const ?? null) as JsonValue);
      const types: JsonTypeName[] = [...new Set(literals.map((t) => literalTypeName(t)))];
      // `"a" | "b" | null`: null joins the enum rather than becoming a branch of its own.
      if (hasNull && out.length === 0) out.push({ type: [...types, "null"], enum: [...values, null] });
      else out.push(values.length === 1 ? { type: types[0]!, const: values[0]! } : { type: types.length === 1 ? types[0]! : types, enum: values });
    }
    if (hasNull && !(out.length === 1 && literals.length > 0)) out.push({ type: "null" });
    return mergeUnion(out);
  }

  #enumOf(literal: ts.Type): ts.Symbol | undefined {
    const decl = literal.getSymbol()?.valueDeclaration;
    if (!decl || !ts.isEnumMember(decl)) return undefined;
    return this.#checker.getSymbolAtLocation(decl.parent.name);
  }

  #intersection(type: ts.IntersectionType, depth: number): JsonSchema {
    // `string & { __brand: "Id" }`: a branded primitive is sent as the primitive.
    const primitive = type.types.find((t) => t.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike));
    if (primitive) return this.#convert(primitive, depth + 1);
    return this.#named(type, () => this.#objectBody(type, depth + 1)) ?? this.#objectBody(type, depth);
  }

  #object(type: ts.ObjectType, depth: number): JsonSchema {
    const checker = this.#checker;
    if (checker.isTupleType(type)) return this.#tuple(type as ts.TupleTypeReference, depth);
    if (checker.isArrayType(type)) {
      const [item] = checker.getTypeArguments(type as ts.TypeReference);
      return { type: "array", items: item ? this.#convert(item, depth + 1) : {} };
    }
    const builtin = this.#builtinName(type);
    if (builtin === "Date") return { type: "string", format: "date-time", "x-flash-type": "Date" };
    if (builtin !== undefined && NOT_JSON_BUILTINS.has(builtin)) return anySchema(builtin);
    if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) {
      if (checker.getPropertiesOfType(type).every((p) => p.flags & ts.SymbolFlags.Prototype)) return anySchema("function");
    }
    return this.#named(type, () => this.#objectBody(type, depth + 1)) ?? this.#objectBody(type, depth);
  }

  /** The name of a standard-library object type (Date, Map, …), else undefined. */
  #builtinName(type: ts.Type): string | undefined {
    const symbol = type.getSymbol();
    const decls = symbol?.getDeclarations();
    if (!symbol || !decls?.length) return undefined;
    return decls.every((d) => this.#program.isSourceFileDefaultLibrary(d.getSourceFile())) ? symbol.getName() : undefined;
  }

  /**
   * A `$ref` to the definition of a named type (building it on first use),
   * or undefined for anonymous types, which are inlined.
   */
  #named(type: ts.Type, build: () => JsonSchema): JsonSchema | undefined {
    const cached = this.#defs.nameOf(type, undefined);
    if (cached) return { $ref: DEFINITIONS_PREFIX + cached };
    const label = this.#definitionLabel(type);
    if (!label) return undefined;
    const symbol = type.aliasSymbol ?? type.getSymbol();
    const key = this.#stableKey(type, 0);
    const carried = this.#defs.nameOf(type, key);
    if (carried) return { $ref: DEFINITIONS_PREFIX + carried };
    const name = this.#defs.claim(type, label, key);
    if (!name) return anySchema("too many named types");
    const body = build();
    if (symbol) {
      const doc = docText(symbol, this.#checker);
      if (doc && body.description === undefined) body.description = doc;
    }
    this.#defs.schemas.set(name, { title: name, ...body });
    return { $ref: DEFINITIONS_PREFIX + name };
  }

  /** The definition label of a named type, or undefined when it should be inlined. */
  #definitionLabel(type: ts.Type): string | undefined {
    const alias = type.aliasSymbol;
    if (alias && !this.#isLibrarySymbol(alias)) return this.#label(type, 0);
    if (type.flags & ts.TypeFlags.EnumLiteral && type.flags & ts.TypeFlags.Union) return type.getSymbol()?.getName();
    const symbol = type.getSymbol();
    if (!symbol || this.#isLibrarySymbol(symbol)) return undefined;
    const objectFlags = type.flags & ts.TypeFlags.Object ? (type as ts.ObjectType).objectFlags : 0;
    const target = objectFlags & ts.ObjectFlags.Reference ? (type as ts.TypeReference).target : undefined;
    const targetFlags = target ? target.objectFlags : objectFlags;
    if (targetFlags & (ts.ObjectFlags.Class | ts.ObjectFlags.Interface)) return this.#label(type, 0);
    return undefined;
  }

  /**
   * What identifies a named type across programs: its declaration (file and
   * position) and, recursively, its type arguments'. Undefined when that
   * cannot be said exactly (anonymous arguments, deep nesting): such a
   * definition is rebuilt rather than risk reusing another type's schema.
   */
  #stableKey(type: ts.Type, depth: number): string | undefined {
    const f = type.flags;
    if (depth > 8) return undefined;
    if (f & (ts.TypeFlags.StringLiteral | ts.TypeFlags.NumberLiteral)) return JSON.stringify((type as ts.LiteralType).value);
    if (f & ts.TypeFlags.BooleanLiteral) return type === this.#checker.getTrueType() ? "true" : "false";
    const intrinsic = f & (ts.TypeFlags.String | ts.TypeFlags.Number | ts.TypeFlags.Boolean | ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.Never | ts.TypeFlags.BigInt);
    if (intrinsic) return `#${intrinsic}`;
    if (f & ts.TypeFlags.Object && this.#checker.isArrayType(type)) {
      const [item] = this.#checker.getTypeArguments(type as ts.TypeReference);
      const inner = item ? this.#stableKey(item, depth + 1) : undefined;
      return inner === undefined ? undefined : `${inner}[]`;
    }
    const symbol = type.aliasSymbol ?? type.getSymbol();
    const decl = symbol?.getDeclarations()?.[0];
    if (!symbol || !decl || symbol.getName().startsWith("__")) return undefined;
    const args = type.aliasSymbol
      ? (type.aliasTypeArguments ?? [])
      : f & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference
        ? this.#checker.getTypeArguments(type as ts.TypeReference)
        : [];
    const argKeys = args.map((a) => this.#stableKey(a, depth + 1));
    if (argKeys.some((k) => k === undefined)) return undefined;
    return `${decl.getSourceFile().fileName}:${decl.pos}${argKeys.length > 0 ? `<${argKeys.join(",")}>` : ""}`;
  }

  /**
   * `Page<User[]>` → `Page_UserList`. Built from symbols rather than with
   * checker.typeToString, which searches every symbol table in scope (all of
   * @types/node's globals) for an accessible name and was most of the time
   * an incremental extraction took.
   */
  #label(type: ts.Type, depth: number): string {
    const f = type.flags;
    if (depth > 3) return "T";
    if (f & ts.TypeFlags.StringLiteral || f & ts.TypeFlags.NumberLiteral) return String((type as ts.LiteralType).value);
    if (f & ts.TypeFlags.BooleanLiteral) return type === this.#checker.getTrueType() ? "true" : "false";
    if (f & ts.TypeFlags.String) return "string";
    if (f & ts.TypeFlags.Number) return "number";
    if (f & ts.TypeFlags.Boolean) return "boolean";
    if (f & ts.TypeFlags.Null) return "null";
    if (f & ts.TypeFlags.Any) return "any";
    const alias = type.aliasSymbol;
    let name: string | undefined;
    let args: readonly ts.Type[] = [];
    if (alias) {
      name = alias.getName();
      args = type.aliasTypeArguments ?? [];
    } else if (f & ts.TypeFlags.Object && this.#checker.isArrayType(type)) {
      const [item] = this.#checker.getTypeArguments(type as ts.TypeReference);
      return `${item ? this.#label(item, depth + 1) : "T"}[]`;
    } else {
      name = type.getSymbol()?.getName();
      if (f & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) args = this.#checker.getTypeArguments(type as ts.TypeReference);
    }
    if (!name || name.startsWith("__")) return "T";
    return args.length > 0 ? `${name}<${args.map((a) => this.#label(a, depth + 1)).join(",")}>` : name;
  }

  #isLibrarySymbol(symbol: ts.Symbol): boolean {
    const decls = symbol.getDeclarations();
    return !!decls?.length && decls.every((d) => this.#program.isSourceFileDefaultLibrary(d.getSourceFile()));
  }

  #tuple(type: ts.TupleTypeReference, depth: number): JsonSchema {
    const target = type.target;
    const args = this.#checker.getTypeArguments(type);
    const flags = target.elementFlags;
    const restAt = flags.findIndex((fl) => fl & ts.ElementFlags.Variable);
    const fixed = restAt === -1 ? args : args.slice(0, restAt);
    const schema: JsonSchema = { type: "array", prefixItems: fixed.map((t) => this.#convert(t, depth + 1)), minItems: target.minLength };
    if (restAt === -1) {
      schema.items = false;
      schema.maxItems = args.length;
    } else if (restAt === args.length - 1) {
      const rest = args[restAt]!;
      // A variadic element (`...T` where T is an array) holds T's items; a rest element (`...x[]`) is the item type itself.
      const item = flags[restAt]! & ts.ElementFlags.Variadic && this.#checker.isArrayType(rest) ? this.#checker.getTypeArguments(rest as ts.TypeReference)[0] : rest;
      schema.items = item ? this.#convert(item, depth + 1) : {};
    } else {
      schema.items = anySchema("tuple with elements after a rest element");
    }
    if (schema.prefixItems!.length === 0) delete schema.prefixItems;
    return schema;
  }

  /** Properties and index signatures of an object (or intersection) type. */
  #objectBody(type: ts.Type, depth: number): JsonSchema {
    const checker = this.#checker;
    const symbol = type.getSymbol();
    if (symbol && symbol.flags & ts.SymbolFlags.Class && hasMethodsOrPrivateState(checker, type)) return anySchema("class instance with methods or private state");
    // Entries, then fromEntries: a property named "__proto__" stays a property.
    const properties: [string, JsonSchema][] = [];
    const required: string[] = [];
    for (const prop of checker.getPropertiesOfType(type)) {
      const name = prop.getName();
      if (name.startsWith("__@") || name.startsWith("__#") || prop.flags & ts.SymbolFlags.Prototype) continue;
      const propType = checker.getTypeOfSymbol(prop);
      const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0 || this.acceptsUndefined(propType);
      if (prop.flags & ts.SymbolFlags.Method || isFunctionType(checker, propType)) {
        // JSON has no functions: an optional one is simply never there, a required one cannot be sent.
        if (optional) continue;
        return anySchema(`has a method or function property "${name}"`);
      }
      const schema = this.#convert(propType, depth + 1);
      const doc = docText(prop, checker);
      properties.push([name, doc || isDeprecated(prop) ? { ...schema, ...(doc ? { description: doc } : {}), ...(isDeprecated(prop) ? { deprecated: true } : {}) } : schema]);
      if (!optional) required.push(name);
    }
    const out: JsonSchema = { type: "object" };
    if (properties.length > 0) out.properties = Object.fromEntries(properties);
    if (required.length > 0) out.required = required;
    const indexTypes = checker
      .getIndexInfosOfType(type)
      .filter((info) => !(info.keyType.flags & ts.TypeFlags.ESSymbolLike))
      .map((info) => info.type);
    if (indexTypes.length > 0) {
      const values = indexTypes.map((t) => this.#convert(t, depth + 1));
      out.additionalProperties = values.length === 1 ? values[0]! : mergeUnion(values);
    }
    return out;
  }
}

function enumBody(type: ts.UnionType): JsonSchema {
  const values = type.types.map((t) => (t.isLiteral() ? (t.value as JsonValue) : null));
  const types = [...new Set(type.types.map((t) => literalTypeName(t)))];
  return { type: types.length === 1 ? types[0]! : types, enum: values };
}

function literalTypeName(t: ts.Type): "string" | "number" | "boolean" {
  if (t.flags & ts.TypeFlags.StringLiteral) return "string";
  if (t.flags & ts.TypeFlags.NumberLiteral) return "number";
  return "boolean";
}

function isFunctionType(checker: ts.TypeChecker, type: ts.Type): boolean {
  if (type.isUnion()) {
    const defined = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
    return defined.length > 0 && defined.every((t) => isFunctionType(checker, t));
  }
  return type.getCallSignatures().length > 0 && checker.getPropertiesOfType(type).length === 0;
}

function hasMethodsOrPrivateState(checker: ts.TypeChecker, type: ts.Type): boolean {
  return checker.getPropertiesOfType(type).some((prop) => {
    if (prop.flags & ts.SymbolFlags.Method) return true;
    const decl = prop.valueDeclaration;
    if (!decl) return false;
    const name = ts.getNameOfDeclaration(decl);
    if (name && ts.isPrivateIdentifier(name)) return true;
    return (ts.getCombinedModifierFlags(decl) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0;
  });
}

/** One schema for the members of a union: plain types folded into one `type` list, the rest `anyOf`. */
export function mergeUnion(members: JsonSchema[]): JsonSchema {
  if (members.length === 1) return members[0]!;
  if (members.some((m) => m["x-flash-any"] !== undefined)) return members.find((m) => m["x-flash-any"] !== undefined)!;
  const plain = (m: JsonSchema): boolean => Object.keys(m).length === 1 && typeof m.type === "string";
  if (members.every(plain)) return { type: [...new Set(members.map((m) => m.type as JsonTypeName))] };
  return { anyOf: members };
}
