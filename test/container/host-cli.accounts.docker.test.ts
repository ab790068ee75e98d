/**
 * The host CLI and the dev container, for what lives outside the project: the
 * key `flash login` stored in ~/.runpod/config.toml reaches the server inside
 * as run-time environment (never in the image), and a `.env` at the
 * repository root above the project is read inside and reloads when edited.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { saveApiKey } from "../../src/runpod/credentials.js";
import { dockerAvailability } from "./docker-available.js";
import { cleanupProject, devImage, FIXTURE, freePort, projectContainers, startHost, waitFor } from "./docker-helpers.js";

const docker = await dockerAvailability();
const KEY = "rpa_CONTAINER_HANDOVER_0123456789";

describe.skipIf(!docker.available)("flash dev in the dev container: the stored key and a .env above the project", () => {
  let top: string;
  let project: string;
  let image: string;
  beforeAll(async () => {
    image = await devImage();
    top = mkdtempSync(join(tmpdir(), "flash-ct-accounts-"));
    mkdirSync(join(top, "repo", ".git"), { recursive: true });
    project = join(top, "repo", "app");
    cpSync(FIXTURE, project, { recursive: true, filter: (p) => !/[/\\](node_modules|\.runpod)$/.test(p) });
    writeFileSync(join(top, "repo", ".env"), "GREETING=hello\n");
    await saveApiKey(KEY, { HOME: join(top, "home") });
  }, 600_000);
  afterAll(async () => {
    if (project) await cleanupProject(project);
    if (top) rmSync(top, { recursive: true, force: true });
  }, 120_000);

  it("hands the stored key over at run time and reads and watches the repository root's .env", async () => {
    const port = await freePort();
    // No Runpod is reachable from the container: the session starts (what it lists is caught) and the banner is what is checked.
    const host = startHost(["dev", "--port", String(port)], {
      cwd: project,
      useCli: true,
      env: { HOME: join(top, "home"), FLASH_CREDENTIALS_FILE: "", RUNPOD_API_BASE_URL: "http://127.0.0.1:9", RUNPOD_ENDPOINT_BASE_URL: "http://127.0.0.1:9/v2" },
    });
    try {
      await host.waitForOutput(/Press Ctrl\+C to stop/).catch((error: unknown) => {
        throw new Error(`${String(error)}\n--- output ---\n${host.output()}`);
      });
      expect(host.output()).toContain("Backend: Runpod (http://127.0.0.1:9) — key from ~/.runpod/config.toml on the host");
      expect(host.output()).toContain(`Env file: ${join(top, "repo", ".env")} (on the host)`);
      expect(host.output()).not.toContain(KEY);

      const [id] = await projectContainers(project);
      const envOf = (...args: string[]): string[] => JSON.parse(execFileSync("docker", [...args, "--format", "{{json .Config.Env}}"], { encoding: "utf8" })) as string[];
      expect(envOf("container", "inspect", id!)).toEqual(expect.arrayContaining([`RUNPOD_API_KEY=${KEY}`, "FLASH_ENV_FILE=/run/flash-env/.env"]));
      expect(envOf("image", "inspect", image).join("\n")).not.toContain(KEY);

      const from = host.output().length;
      writeFileSync(join(top, "repo", ".env"), "GREETING=bonjour\n");
      await waitFor("the reload", () => /\.env changed \(GREETING\)/.test(host.output().slice(from)), 30_000, 100);
      host.child.kill("SIGINT");
      expect(await host.exited).toBe(0);
    } finally {
      host.child.kill("SIGKILL");
    }
  }, 600_000);
});
