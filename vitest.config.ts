import { defineConfig } from "vitest/config";

// Test projects (docs/internals.md, "Tests"). Every test runs in a forked
// process, so a leaked handle in one file cannot hang another.
//
// Which flash-ts the tests run is chosen per project by a global setup and
// handed to the code under test as FLASH_TS_PACKAGE_ROOT: unit, integration
// and browser tests get src/ transpiled by esbuild into a throwaway package
// (~150 ms), so they need no `npm run build` and can never run a stale dist/;
// the container and e2e tests test the build itself (the dev image is made
// from dist/, `npm pack` ships it) and refuse a dist/ older than src/.
const fromSource = { globalSetup: ["test/helpers/use-source-package.ts"], setupFiles: ["test/helpers/package-env.ts"] };
const fromBuild = { globalSetup: ["test/helpers/use-built-package.ts"], setupFiles: ["test/helpers/package-env.ts"] };

export default defineConfig({
  test: {
    pool: "forks",
    restoreMocks: true,
    unstubEnvs: true,
    maxWorkers: 2,
    projects: [
      {
        // One module (or a few) in this process, with fakes around it: no CLI
        // spawned, no Docker, no browser. Servers on 127.0.0.1:0, worker
        // threads and short-lived helper processes are fine; timing is driven
        // by a fake clock or awaited events, never asserted against the wall.
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 15_000, hookTimeout: 15_000, ...fromSource },
      },
      {
        // Real emulators, real worker processes and the real CLI, on localhost;
        // /docs in Chromium. Generous timeouts: they start processes.
        test: { name: "integration", include: ["test/integration/**/*.test.ts", "test/browser/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 120_000, ...fromSource },
      },
      {
        // Docker (FLASH_REQUIRE_DOCKER=1 turns a missing engine into a failure) and the packed package.
        test: { name: "build", include: ["test/container/**/*.test.ts", "test/e2e/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 120_000, ...fromBuild },
      },
    ],
  },
});
