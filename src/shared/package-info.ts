/** Reads this package's own package.json (name, version, root) at run time. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the installed flash-ts package (the folder holding package.json). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function readPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

/** The CLI entry (dist/cli/index.js), for spawning `flash` subcommands with this same copy. */
export const CLI_ENTRY = join(PACKAGE_ROOT, "dist", "cli", "index.js");
