/**
 * The type-schema fixture project, copied to a temp folder per test file
 * (tests edit files in it), with a typed package in its node_modules (which
 * git does not keep, so it is written here).
 */
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import type { SchemaTarget } from "../../../../src/discovery/type-schema/extractor.js";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "fixtures", "type-schema", "project");
const created: string[] = [];

afterAll(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

export function writeFile(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

/** A fresh copy of test/fixtures/type-schema/project with `typed-lib` installed. */
export function copyProject(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "flash-type-schema-")));
  created.push(dir);
  cpSync(FIXTURE, dir, { recursive: true });
  writeFile(dir, "node_modules/typed-lib/package.json", JSON.stringify({ name: "typed-lib", version: "1.0.0", types: "index.d.ts" }));
  writeFile(
    dir,
    "node_modules/typed-lib/index.d.ts",
    '/** Options of the library. */\nexport interface LibOptions {\n  level: "low" | "high";\n  retries?: number;\n}\n',
  );
  return dir;
}

/** A target for `file#export[.method]`. */
export function target(file: string, name: string, method?: string): SchemaTarget {
  return { id: `${file}#${name}${method ? `.${method}` : ""}`, file, export: name, ...(method ? { method } : {}) };
}

export const REF = "#/components/schemas/";
