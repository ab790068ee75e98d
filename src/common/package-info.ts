/** Reads this package's own package.json (name, version, root) at run time. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled, this file is <package>/dist/common/package-info.js.
  if (!import.meta.url.endsWith(".ts")) return join(here, "..", "..");
  // From src/ (only the test runner loads it so), two folders up is the repository,
  // whose dist/ may be missing or older than src/. The package whose CLI is spawned
  // and whose SDK bundles link to must then be named (the test setup builds src/
  // into one, docs/internals.md "Tests"), never guessed: guessing would run another
  // build's code without a word.
  const named = process.env.FLASH_TS_PACKAGE_ROOT;
  if (!named) {
    throw new Error(
      `flash-ts is running from its TypeScript sources (${here}) but FLASH_TS_PACKAGE_ROOT does not name a built package. ` +
        "Run the tests through vitest (npm test, npm run test:unit), whose setup builds one.",
    );
  }
  return named;
}

/** Absolute path of the installed flash-ts package (the folder holding package.json). */
export const PACKAGE_ROOT = packageRoot();

export function readPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

/** The CLI entry (dist/cli/index.js), for spawning `flash` subcommands with this same copy. */
export const CLI_ENTRY = join(PACKAGE_ROOT, "dist", "cli", "index.js");
