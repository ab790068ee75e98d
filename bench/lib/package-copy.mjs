// A copy of this package under its own version (flash-dev:<version>-bench.<pid>), so a benchmark
// builds and times its own dev image: other checkouts on a shared engine build flash-dev:<version>
// too, and each build of that tag replaces the others'.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";

export function makePackageCopy(root) {
  const dir = mkdtempSync(join(tmpdir(), "flash-bench-pkg-"));
  for (const entry of ["dist", "assets", "templates", "Dockerfile", ".dockerignore", "package-lock.json"]) {
    if (existsSync(join(root, entry))) cpSync(join(root, entry), join(dir, entry), { recursive: true });
  }
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const version = `${manifest.version}-bench.${process.pid}`;
  writeFileSync(join(dir, "package.json"), JSON.stringify({ ...manifest, version }, null, 2) + "\n");
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  return {
    dir,
    version,
    cli: join(dir, "dist", "cli", "index.js"),
    image: `flash-dev:${version}`,
    cleanup() {
      try {
        execFileSync("docker", ["rmi", `flash-dev:${version}`], { stdio: "ignore" });
      } catch {
        // not built
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
