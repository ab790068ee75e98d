/**
 * The image as built from the repository (compiling src/ — what compose and
 * the devcontainer do), compose.yaml with Debian's docker-compose, and
 * .devcontainer/devcontainer.json with the Dev Containers CLI.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { GenericContainer, Wait } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailability } from "./docker-available.js";
import { cleanupProject, fetchJson, freePort, giveTree, OTHER_USER, REPO_ROOT, removeTree, runtime, STAND_IN, tempProject, waitFor } from "./docker-helpers.js";

const run = promisify(execFile);
const docker = await dockerAvailability();
const TAG = `flash-dev-test:repo-${process.pid}`;

/**
 * `docker-compose` (Debian's) or `docker compose`, whichever is installed.
 * Without either the compose tests skip, unless FLASH_REQUIRE_DOCKER is set
 * (CI): then they fail, like a missing engine.
 */
function composeCommand(): string[] | undefined {
  for (const candidate of [["docker-compose"], ["docker", "compose"]]) {
    if (spawnSync(candidate[0]!, [...candidate.slice(1), "version"], { stdio: "ignore" }).status === 0) return candidate;
  }
  if (process.env.FLASH_REQUIRE_DOCKER === "1") return undefined;
  console.warn("Skipping the compose.yaml tests: neither docker-compose nor docker compose is installed");
  return undefined;
}
const compose = composeCommand();
const composeRequired = process.env.FLASH_REQUIRE_DOCKER === "1";

/**
 * A copy of the repository as a fresh clone has it (tracked and new files, no build output), owned by
 * an ordinary user (uid 1000, the image's `node`, as on most Linux desktops) rather than by root as this
 * test may be. The image is built from it, and the devcontainer opens it: same context, so the Dev
 * Containers CLI's build of the same Dockerfile is all cache hits.
 */
function makeCheckout(): string {
  const dir = mkdtempSync(join(tmpdir(), "flash-checkout-"));
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
  for (const file of files) {
    if (!existsSync(join(REPO_ROOT, file))) continue; // deleted in the work tree but still tracked
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(dir, file));
  }
  giveTree(dir, { uid: 1000, gid: 1000 });
  return dir;
}

describe.skipIf(!docker.available)("the image built from the repository (Docker)", () => {
  let built = false;
  let workspace: string;
  beforeAll(async () => {
    workspace = makeCheckout();
    // Exactly what `docker build .` sends: every top-level entry, filtered by .dockerignore.
    await runtime().buildImage(
      {
        contextDir: workspace,
        files: readdirSync(workspace),
        dockerfile: "Dockerfile",
        tag: TAG,
        labels: { "dev.flash-ts.test": "repository-image" },
        buildArgs: {},
      },
      () => {},
    );
    built = true;
  }, 900_000);
  afterAll(async () => {
    const rt = runtime();
    const image = await rt.inspectImage(TAG);
    if (image) await rt.removeImage(image.id);
    await rt.pruneDanglingImages({ "dev.flash-ts.stage": "build" });
    removeTree(workspace);
  }, 120_000);

  it("builds from the repository with the base image available locally", async () => {
    expect(built).toBe(true);
    const container = await new GenericContainer(TAG)
      .withCommand(["sh", "-c", "flash --version && test ! -e /opt/flash-ts/node_modules/vitest && id -un"])
      .withWaitStrategy(Wait.forOneShotStartup())
      .withStartupTimeout(60_000)
      .start();
    const logs = await new Promise<string>((resolve) => {
      let text = "";
      void container.logs().then((stream) => {
        stream.on("data", (d: Buffer | string) => (text += d.toString()));
        stream.on("end", () => resolve(text));
      });
    });
    await container.stop({ remove: true });
    expect(logs).toMatch(/^\d+\.\d+\.\d+/m);
    expect(logs).toMatch(/^node$/m); // the image's default user is not root
  }, 120_000);

  describe.skipIf(!compose && !composeRequired)("compose.yaml", () => {
    const projects: string[] = [];
    const composeProject = `flashct${process.pid}`;
    afterAll(async () => {
      if (compose) {
        await run(compose[0]!, [...compose.slice(1), "-p", composeProject, "-f", join(REPO_ROOT, "compose.yaml"), "down", "-v", "--remove-orphans"], {
          env: { ...process.env, FLASH_PROJECT: projects[0] ?? "." },
        }).catch(() => {});
      }
      for (const p of projects) await cleanupProject(p);
    }, 120_000);

    const composeRun = (args: string[], env: NodeJS.ProcessEnv) => {
      if (!compose) throw new Error("FLASH_REQUIRE_DOCKER is set but no compose tool is installed: install Debian's docker-compose");
      return run(compose[0]!, [...compose!.slice(1), "-p", composeProject, "-f", join(REPO_ROOT, "compose.yaml"), ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env },
        timeout: 300_000,
      });
    };

    it("is valid (docker-compose config) and publishes on 127.0.0.1 only", async () => {
      const { stdout } = await composeRun(["config"], { FLASH_PROJECT: REPO_ROOT + "/examples/hello", FLASH_PORT: "18765" });
      expect(stdout).toMatch(/127\.0\.0\.1/);
      expect(stdout).toMatch(/18765/);
      expect(stdout).toMatch(/\/workspace\/node_modules/);
      expect(stdout).toMatch(/RUNPOD_API_KEY: null/); // passed through from the shell at run time, no value in the file
    }, 120_000);

    it("runs the service as the owner of the project, with .runpod/ on the host", async () => {
      const dir = tempProject(undefined, OTHER_USER);
      projects.push(dir);
      const port = await freePort();
      const env = { FLASH_PROJECT: dir, FLASH_PORT: String(port), FLASH_DEV_IMAGE: TAG };
      await composeRun(["run", "-d", "--service-ports", "--name", `${composeProject}-standin`, "flash-dev", ...STAND_IN], env);
      try {
        const state = await waitFor("stand-in via compose", async () => {
          const r = await fetchJson(`http://127.0.0.1:${port}/state`);
          return r?.status === 200 ? (r.json as { uid: number; deps: { ms: boolean } }) : undefined;
        }, 120_000, 200);
        expect(state.uid).toBe(OTHER_USER.uid);
        expect(state.deps.ms).toBe(true);
        expect(statSync(join(dir, ".runpod", "stand-in-state.json")).uid).toBe(OTHER_USER.uid);
      } finally {
        await run("docker", ["rm", "-f", `${composeProject}-standin`]).catch(() => {});
      }
    }, 300_000);

    it("brings the service up: flash dev answers on 127.0.0.1", async () => {
      const dir = tempProject(undefined, OTHER_USER);
      projects.push(dir);
      const port = await freePort();
      const env = { FLASH_PROJECT: dir, FLASH_PORT: String(port), FLASH_DEV_IMAGE: TAG };
      await composeRun(["up", "-d", "--no-build"], env);
      try {
        const root = await waitFor("GET / via compose", async () => {
          const r = await fetchJson(`http://127.0.0.1:${port}/`);
          return r?.status === 200 ? r : undefined;
        }, 120_000, 200);
        expect(root.json).toMatchObject({ message: "Flash Dev Server" });
      } finally {
        await composeRun(["down", "-v"], env).catch(() => {});
      }
    }, 300_000);
  });

  describe(".devcontainer/devcontainer.json", () => {
    const idLabel = `flash-ts-test=devcontainer-${process.pid}`;
    // The Dev Containers CLI is a devDependency (installed by npm ci).
    const devcontainer = join(REPO_ROOT, "node_modules", ".bin", "devcontainer");
    afterAll(async () => {
      const { stdout } = await run("docker", ["ps", "-aq", "--filter", `label=${idLabel}`]).catch(() => ({ stdout: "" }));
      for (const id of stdout.split("\n").filter(Boolean)) {
        const mounts = await run("docker", ["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", id]).catch(() => ({ stdout: "" }));
        await run("docker", ["rm", "-f", "-v", id]).catch(() => {});
        for (const volume of mounts.stdout.split(" ").filter((v) => v.startsWith("flash-ts-devcontainer-modules-"))) {
          await run("docker", ["volume", "rm", volume]).catch(() => {});
        }
      }
      const images = await run("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", `reference=vsc-${(workspace.split("/").pop() ?? "").toLowerCase()}*`]).catch(() => ({ stdout: "" }));
      for (const image of images.stdout.split("\n").filter(Boolean)) await run("docker", ["rmi", image]).catch(() => {});
    }, 180_000);

    it("brings up a working container with the Dev Containers CLI", async () => {
      await run(devcontainer, ["up", "--workspace-folder", workspace, "--id-label", idLabel], { timeout: 900_000, maxBuffer: 64 * 1024 * 1024 }).catch(
        (error: { stdout?: string; stderr?: string }) => {
          throw new Error(`devcontainer up failed:\n${(error.stdout ?? "").slice(-3000)}\n${(error.stderr ?? "").slice(-3000)}`);
        },
      );
      const exec = (command: string[]) => run(devcontainer, ["exec", "--workspace-folder", workspace, "--id-label", idLabel, ...command], { timeout: 120_000 });
      // The repository's dependencies are installed (postCreateCommand), inside the container.
      await exec(["test", "-f", "/workspace/node_modules/typescript/package.json"]);
      // flash dev serves examples/hello inside on 8888 (forwarded by the editor; checked from inside here).
      const probe = "fetch('http://127.0.0.1:8888/').then(async r => { console.log(r.status, await r.text()); process.exit(r.ok ? 0 : 1) }, () => process.exit(1))";
      const out = await waitFor("flash dev in the devcontainer", async () => (await exec(["node", "-e", probe])).stdout, 120_000, 1000);
      expect(out).toMatch(/200 .*Flash Dev Server/);
    }, 1_200_000);
  });
});
