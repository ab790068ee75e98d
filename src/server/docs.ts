/**
 * The /docs page: static assets shipped in the package (`assets/docs/`),
 * no CDN and no build step. The page reads /openapi.json and renders the
 * routes itself, so nothing here depends on the routes.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "../common/errors.js";
import { PACKAGE_ROOT } from "../common/package-info.js";
import type { DevContext } from "./dev-context.js";

/** Where the page's assets live in an installed package. */
export const DEFAULT_DOCS_DIR = join(PACKAGE_ROOT, "assets", "docs");

/** URL prefix of the page's scripts and styles; reserved so no function route can take it. */
export const DOCS_ASSET_PREFIX = "/__flash/docs/";

/** The only files served, by name: a fixed list rules out path traversal. */
const ASSETS: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "docs.css": "text/css; charset=utf-8",
  "docs.js": "text/javascript; charset=utf-8",
};

// The page only talks to this server; a strict policy keeps it that way.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** True when `name` is one of the page's assets. */
export function isDocsAsset(name: string): boolean {
  return Object.hasOwn(ASSETS, name) && name !== "index.html";
}

/**
 * Sends one asset (`index.html` for /docs). Read on every request: the files
 * are small and this keeps the page editable while flash-ts itself is being
 * developed.
 */
export async function sendDocsAsset(ctx: DevContext, docsDir: string, name: string): Promise<void> {
  const type = ASSETS[name];
  if (!type) throw new AppError("ROUTE_NOT_FOUND", `No docs asset named ${name}`);
  let content: Buffer;
  try {
    content = await readFile(join(docsDir, name));
  } catch (err) {
    throw new AppError("INTERNAL", `The docs page asset ${join(docsDir, name)} could not be read`, { cause: err });
  }
  ctx.status = 200;
  ctx.type = type;
  ctx.set("Cache-Control", "no-cache");
  ctx.set("X-Content-Type-Options", "nosniff");
  if (name === "index.html") ctx.set("Content-Security-Policy", CSP);
  ctx.body = content;
}
