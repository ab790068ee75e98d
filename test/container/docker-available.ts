/**
 * Docker test gating. When no engine answers, container tests skip — unless
 * FLASH_REQUIRE_DOCKER=1 (CI), where a missing engine fails the run.
 *
 *   const docker = await dockerAvailability();
 *   describe.skipIf(!docker.available)("…", () => { … });
 */
import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { detectDocker } from "../../src/container/detect.js";

export interface DockerAvailability {
  available: boolean;
  reason: string;
}

let cached: Promise<DockerAvailability> | undefined;

export function dockerAvailability(): Promise<DockerAvailability> {
  cached ??= (async () => {
    // Tests run with the environment's own DOCKER_HOST; a test that changes it does so in a child process.
    const detection = await detectDocker(process.env, { timeoutMs: 5000 });
    const result: DockerAvailability =
      detection.status === "available"
        ? { available: true, reason: `Docker ${detection.engine.version} at ${detection.endpoint.url}` }
        : { available: false, reason: detection.reason };
    if (!result.available && process.env.FLASH_REQUIRE_DOCKER === "1") {
      throw new Error(`FLASH_REQUIRE_DOCKER=1 but no Docker engine answers: ${result.reason}`);
    }
    if (!result.available) console.warn(`Skipping container tests: ${result.reason}`);
    // Testcontainers, run inside a container, looks for the engine's host in the bridge network's
    // gateway, and without one pulls alpine to ask the routing table (no registry here). An engine
    // whose bridge (docker0) is in this network namespace publishes ports on localhost.
    if (result.available && process.env.TESTCONTAINERS_HOST_OVERRIDE === undefined && existsSync("/.dockerenv") && networkInterfaces().docker0) {
      process.env.TESTCONTAINERS_HOST_OVERRIDE = "localhost";
    }
    return result;
  })();
  return cached;
}
