/**
 * Encodes values that JSON cannot carry (Date, Uint8Array/Buffer, Map, Set,
 * BigInt, undefined, NaN/±Infinity/-0) into plain JSON and back, so function
 * arguments and results round-trip between the dev server and a worker.
 *
 * A special value becomes `{"$flash": "<type>", "v": …}`. A plain object that
 * itself has a `$flash` key is escaped as `{"$flash": "object", "v": {…}}`, so
 * user data can never be mistaken for a tag.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const TAG = "$flash";

export class ValueCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValueCodecError";
  }
}

/**
 * Encodes `value` as JSON-safe data. A function, a symbol or a cycle anywhere
 * inside is an error naming where it is, from `path` (the name of the value as
 * the user knows it, e.g. `result` or `arguments[0]`): dropping it silently, as
 * JSON.stringify does, would hand the other side a value that differs from
 * the one sent without a word.
 * @throws ValueCodecError e.g. "result.callback is a function, which cannot be sent"
 */
export function encodeValue(value: unknown, path = "value"): JsonValue {
  return encode(value, new Set(), path);
}

function encode(value: unknown, seen: Set<object>, path: string): JsonValue {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (Number.isNaN(value)) return { [TAG]: "number", v: "NaN" };
      if (value === Infinity) return { [TAG]: "number", v: "Infinity" };
      if (value === -Infinity) return { [TAG]: "number", v: "-Infinity" };
      if (Object.is(value, -0)) return { [TAG]: "number", v: "-0" };
      return value;
    case "bigint":
      return { [TAG]: "bigint", v: value.toString() };
    case "undefined":
      return { [TAG]: "undefined" };
    case "function":
    case "symbol":
      throw new ValueCodecError(`${path} is a ${typeof value}, which cannot be sent`);
  }
  if (value === null) return null;
  const obj = value as object;
  if (seen.has(obj)) throw new ValueCodecError(`${path} refers back to an enclosing value (a cycle), which cannot be sent`);
  seen.add(obj);
  try {
    if (obj instanceof Date) {
      return { [TAG]: "date", v: Number.isNaN(obj.getTime()) ? null : obj.toISOString() };
    }
    if (obj instanceof Uint8Array) {
      const kind = typeof Buffer !== "undefined" && Buffer.isBuffer(obj) ? "buffer" : "bytes";
      return { [TAG]: kind, v: Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString("base64") };
    }
    if (obj instanceof ArrayBuffer) {
      return { [TAG]: "arraybuffer", v: Buffer.from(obj).toString("base64") };
    }
    if (obj instanceof Map) {
      const entries: JsonValue[] = [];
      let i = 0;
      for (const [k, v] of obj) {
        entries.push([encode(k, seen, `${path}.<key ${i}>`), encode(v, seen, `${path}.<value ${i}>`)]);
        i++;
      }
      return { [TAG]: "map", v: entries };
    }
    if (obj instanceof Set) {
      const items: JsonValue[] = [];
      let i = 0;
      for (const v of obj) items.push(encode(v, seen, `${path}.<item ${i++}>`));
      return { [TAG]: "set", v: items };
    }
    if (obj instanceof RegExp) {
      return { [TAG]: "regexp", v: [obj.source, obj.flags] };
    }
    if (obj instanceof Error) {
      return {
        [TAG]: "error",
        v: { name: obj.name, message: obj.message, stack: obj.stack ?? null },
      };
    }
    if (Array.isArray(obj)) {
      return obj.map((item, i) => encode(item, seen, `${path}[${i}]`));
    }
    if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
      return encode((obj as { toJSON: () => unknown }).toJSON(), seen, path);
    }
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(obj)) out[k] = encode(v, seen, `${path}.${k}`);
    return Object.prototype.hasOwnProperty.call(out, TAG) ? { [TAG]: "object", v: out } : out;
  } finally {
    seen.delete(obj);
  }
}

/** Decodes data produced by encodeValue. Plain JSON decodes to itself. */
export function decodeValue(value: JsonValue): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(decodeValue);
  if (!Object.prototype.hasOwnProperty.call(value, TAG)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = decodeValue(v);
    return out;
  }
  const tag = value[TAG];
  const v = value.v;
  switch (tag) {
    case "undefined":
      return undefined;
    case "number":
      if (v === "NaN") return NaN;
      if (v === "Infinity") return Infinity;
      if (v === "-Infinity") return -Infinity;
      if (v === "-0") return -0;
      break;
    case "bigint":
      if (typeof v === "string") return BigInt(v);
      break;
    case "date":
      return new Date(typeof v === "string" ? v : NaN);
    case "buffer":
      if (typeof v === "string") return Buffer.from(v, "base64");
      break;
    case "bytes":
      if (typeof v === "string") return new Uint8Array(Buffer.from(v, "base64"));
      break;
    case "arraybuffer":
      if (typeof v === "string") {
        const b = Buffer.from(v, "base64");
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      }
      break;
    case "map":
      if (Array.isArray(v)) {
        return new Map(
          v.map((entry) => {
            if (!Array.isArray(entry) || entry.length !== 2) throw new ValueCodecError("malformed map entry");
            return [decodeValue(entry[0] as JsonValue), decodeValue(entry[1] as JsonValue)];
          }),
        );
      }
      break;
    case "set":
      if (Array.isArray(v)) return new Set(v.map(decodeValue));
      break;
    case "regexp":
      if (Array.isArray(v) && typeof v[0] === "string" && typeof v[1] === "string") return new RegExp(v[0], v[1]);
      break;
    case "error":
      if (v && typeof v === "object" && !Array.isArray(v)) {
        const err = new Error(typeof v.message === "string" ? v.message : "");
        if (typeof v.name === "string") err.name = v.name;
        if (typeof v.stack === "string") err.stack = v.stack;
        return err;
      }
      break;
    case "object":
      if (v && typeof v === "object" && !Array.isArray(v)) {
        const out: Record<string, unknown> = {};
        for (const [k, inner] of Object.entries(v)) out[k] = decodeValue(inner);
        return out;
      }
      break;
  }
  throw new ValueCodecError(`unknown or malformed encoded value (${TAG}: ${JSON.stringify(tag)})`);
}
