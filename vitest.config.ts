import { defineConfig } from "vitest/config";

// Integration tests start real emulator and worker processes; they are given
// generous timeouts and run in forked processes so a leaked handle in one file
// cannot hang another.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    restoreMocks: true,
    unstubEnvs: true,
    maxWorkers: 2,
  },
});
