/**
 * Test projects for discovery: fixture directories copied to a temp folder
 * (discovery writes node_modules/.cache into the project), or projects
 * written from a map of files. Removed after each test file.
 */
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import { createDiscovery } from "../../../src/discovery/index.js";
import type { Discovery, DiscoveryOptions, Manifest } from "../../../src/discovery/index.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "fixtures", "projects");

const created: string[] = [];
const open: Discovery[] = [];

afterAll(async () => {
  await Promise.all(open.map((d) => d.close()));
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  // realpath: on macOS /tmp is a symlink, and discovery compares real paths.
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "flash-discovery-")));
  created.push(dir);
  return dir;
}

/** Copies test/fixtures/projects/<name> to a fresh temp folder and returns its path. */
export function copyFixture(name: string): string {
  const dir = tempDir();
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** Writes `files` (relative path → text) into a fresh temp folder (or into `dir`). */
export function writeProject(files: Record<string, string>, dir = tempDir()): string {
  for (const [rel, text] of Object.entries(files)) writeFile(dir, rel, text);
  return dir;
}

export function writeFile(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

/** A discovery closed after the test file. */
export function openDiscovery(options: DiscoveryOptions): Discovery {
  const discovery = createDiscovery(options);
  open.push(discovery);
  return discovery;
}

/** `METHOD path` of every served route (primary paths), in manifest order. */
export function routeList(manifest: Manifest): string[] {
  return manifest.functions.map((f) => `${f.route.method} ${f.route.path}`);
}

/** The source of a minimal remote module (QB, CPU). */
export function qbModule(name: string, exportName = "fn", body = "return input;"): string {
  return [
    'import { remote, CpuLiveServerless } from "flash-ts";',
    `const cpu = new CpuLiveServerless({ name: ${JSON.stringify(name)} });`,
    `export const ${exportName} = remote(cpu, async (input: unknown) => { ${body} });`,
    "",
  ].join("\n");
}
