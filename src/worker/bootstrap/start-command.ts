/**
 * The start command of a live endpoint: `node -e '<bootstrap>'`, the
 * bootstrap minified (docs/internals.md, "The worker runtime"). It is part
 * of the endpoint's config hash, so it changes only when the bootstrap does —
 * not with every flash-ts release, since the runtime travels with requests.
 *
 * Runpod splits a start command into words the way a shell would (quotes
 * group, nothing is expanded) and runs them instead of the image's CMD, so
 * the script is one single-quoted word and contains no `'`.
 */
import { transformSync } from "esbuild";
import { AppError } from "../../common/errors.js";
import { bootstrapMain } from "./bootstrap.js";

let script: string | undefined;

/** The minified bootstrap (a script for `node -e`). */
export function bootstrapScript(): string {
  script ??= (() => {
    const source = `(${bootstrapMain.toString()})(require, process);`;
    const code = transformSync(source, { loader: "js", minify: true, target: "node12", charset: "utf8" }).code.trim();
    if (code.includes("'")) throw new AppError("INTERNAL", "the minified worker bootstrap contains a single quote and cannot be quoted in a start command");
    return code;
  })();
  return script;
}

/** The start command that runs the bootstrap with the image's `node`. */
export function bootstrapStartCommand(): string {
  return `node -e '${bootstrapScript()}'`;
}
