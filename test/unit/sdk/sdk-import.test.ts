/**
 * `import "flash-ts"` stays light: every bundle and every worker imports the
 * SDK, so the HTTP stack (undici), the servers (Koa), the bundler (esbuild)
 * and the compiler (typescript) must not come with it. An Endpoint client
 * loads the Runpod clients at its first call. Checked in a fresh Node process
 * of the package under test, recording every module it resolves.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../../src/common/package-info.js";

const HEAVY = /[\\/]node_modules[\\/](undici|koa|@koa|esbuild|typescript|chokidar|dockerode)[\\/]/;

/** Runs `steps` after importing the SDK; prints the heavy modules resolved after each step. */
function heavyModulesAfter(steps: string[]): string[][] {
  const sdk = JSON.stringify(join(PACKAGE_ROOT, "dist", "sdk", "index.js"));
  const script = [
    'import { registerHooks } from "node:module";',
    "const seen = [];",
    "registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });",
    `const heavy = () => [...new Set(seen.filter((u) => ${HEAVY}.test(u)).map((u) => u.match(${HEAVY})[1]))].sort();`,
    `const sdk = await import(${sdk});`,
    "console.log(JSON.stringify(heavy()));",
    ...steps.map((step) => `${step}\nconsole.log(JSON.stringify(heavy()));`),
  ].join("\n");
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    // A closed port on loopback: the call fails fast, after loading the clients.
    env: { ...process.env, RUNPOD_API_KEY: "k", RUNPOD_ENDPOINT_BASE_URL: "http://127.0.0.1:9/v2", RUNPOD_API_BASE_URL: "http://127.0.0.1:9" },
  });
  return out.trim().split("\n").map((line) => JSON.parse(line) as string[]);
}

describe("import 'flash-ts'", () => {
  it("loads no HTTP client, server, bundler or compiler; an Endpoint client loads undici at its first call", () => {
    const [afterImport, afterDefine, afterCall] = heavyModulesAfter([
      'const ep = new sdk.Endpoint({ id: "abc123" }); new sdk.Endpoint({ name: "api" }).post("/x", async () => 1);',
      "await ep.run({ a: 1 }).catch(() => undefined);",
    ]);
    expect(afterImport).toEqual([]);
    expect(afterDefine).toEqual([]);
    expect(afterCall).toEqual(["undici"]);
  });
});
