/**
 * A small path matcher for the dev server's routes. We match ourselves rather
 * than through @koa/router (path-to-regexp) because route prefixes come from
 * file names, which may contain characters path-to-regexp treats as syntax
 * (`(`, `*`, `+`, `[`, `{`), and because the server needs "which methods
 * exist for this path" to answer 405 with an `Allow` header across built-in
 * and function routes alike.
 *
 * Rules: a segment `:name` or `{name}` is a parameter that matches one
 * non-empty segment; anything else is literal and case-sensitive. A trailing
 * slash is ignored. A literal segment beats a parameter in the same position
 * (`/items/new` wins over `/items/:id`).
 */

type Segment = { kind: "literal"; value: string } | { kind: "param"; name: string };

/** A compiled path pattern. */
export interface PathPattern {
  /** The pattern as given (`/lb/items/:id`). */
  readonly source: string;
  /** OpenAPI form (`/lb/items/{id}`). */
  readonly openapiPath: string;
  /** Parameter names in order. */
  readonly params: readonly string[];
  /** A key equal for patterns that match exactly the same paths (`/a/:x` and `/a/{y}`). */
  readonly shapeKey: string;
  readonly segments: readonly Segment[];
}

const PARAM_COLON = /^:([A-Za-z_$][\w$]*)$/;
const PARAM_BRACE = /^\{([A-Za-z_$][\w$]*)\}$/;

/** Splits a path into segments, ignoring one trailing slash. */
export function splitPath(path: string): string[] {
  let p = path.startsWith("/") ? path.slice(1) : path;
  if (p.endsWith("/")) p = p.slice(0, -1);
  return p === "" ? [] : p.split("/");
}

/** Compiles a route path (`/prefix/items/:id`). */
export function compilePath(source: string): PathPattern {
  const segments: Segment[] = splitPath(source).map((raw) => {
    const m = PARAM_COLON.exec(raw) ?? PARAM_BRACE.exec(raw);
    return m?.[1] !== undefined ? { kind: "param", name: m[1] } : { kind: "literal", value: raw };
  });
  const params = segments.flatMap((s) => (s.kind === "param" ? [s.name] : []));
  const openapiPath = "/" + segments.map((s) => (s.kind === "param" ? `{${s.name}}` : s.value)).join("/");
  const shapeKey = "/" + segments.map((s) => (s.kind === "param" ? "\u0000" : s.value)).join("/");
  return { source, openapiPath, params, shapeKey, segments };
}

function decodeSegment(raw: string): string {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    // A malformed escape cannot match a literal we generated; keep it raw
    // so the request ends as a clean 404 rather than an exception.
    return raw;
  }
}

/** Splits and percent-decodes a request path once, for matching against many patterns. */
export function toRequestSegments(path: string): string[] {
  return splitPath(path).map(decodeSegment);
}

/**
 * Matches request segments against a pattern. Returns the parameters and a
 * specificity score (one digit per segment, literal = 2, param = 1) used to
 * prefer literal segments, or undefined.
 */
export function matchPattern(
  pattern: PathPattern,
  segments: readonly string[],
): { params: Record<string, string>; score: string } | undefined {
  if (pattern.segments.length !== segments.length) return undefined;
  const entries: [string, string][] = [];
  let score = "";
  for (let i = 0; i < segments.length; i++) {
    const want = pattern.segments[i]!;
    const got = segments[i]!;
    if (want.kind === "literal") {
      if (want.value !== got) return undefined;
      score += "2";
    } else {
      if (got === "") return undefined;
      entries.push([want.name, got]);
      score += "1";
    }
  }
  // fromEntries defines own properties, so a parameter named `__proto__` stays data.
  return { params: Object.fromEntries(entries), score };
}
