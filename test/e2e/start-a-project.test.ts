/**
 * "Start a project" (README), as a new user works: `flash init` into a new
 * folder, flash-ts installed from the packed tarball, then the project served
 * four ways, one after another on the same folder — natively, by `docker
 * compose up` from a shell with no Node on its PATH, by the Dev Containers
 * CLI, and by the host CLI in the dev image (with flash-ts reinstalled from a
 * tarball outside the project, as "Using it in your project" says, and a
 * function using another dependency). Each time every example route answers
 * and an edit made on the host is served; nothing is left behind but the
 * intended dependency volume.
 */
import { execFile, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailability } from "../container/docker-available.js";
import { cleanupProject, freePort, projectContainers } from "../container/docker-helpers.js";
import { REPO_ROOT, startDevProcess } from "../helpers/dev-process.js";
import { CLI } from "../helpers/processes.js";
import { NODE_IMAGE } from "../../src/container/container-settings.js";
import { packedFlashTs } from "./packed-flash-ts.js";
import { EXAMPLE_CALLS, expectEveryRoute, expectHostEditServed, hostTransport, INSIDE_SCRIPT, requestOnce, type Transport } from "./project-routes.js";
import { composeTool, ensurePinnedNodeImage, noNodePath, run } from "./container-tools.js";

const exec = promisify(execFile);
const docker = await dockerAvailability();
const compose = docker.available ? composeTool() : undefined;
const DEVCONTAINER = join(REPO_ROOT, "node_modules", ".bin", "devcontainer");
/** An ordinary user's project (uid 1000 is the image's `node`, as on most Linux desktops). */
const OWNER = { uid: 1000, gid: 1000 };
const asRoot = process.getuid?.() === 0;

let work: string;
let project: string;
const composeProject = `flashe2e${process.pid}`;
let untagPinnedImage: (() => Promise<void>) | undefined;

const chownProject = (): Promise<unknown> => (asRoot ? exec("chown", ["-R", `${OWNER.uid}:${OWNER.gid}`, project]) : Promise.resolve());

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "flash-start-"));
  project = join(work, "orders-app");
  const init = await exec(process.execPath, [CLI, "init", project], { cwd: work });
  expect(init.stdout).toMatch(/^Created orders-app in orders-app:/);
  // Until flash-ts is on the registry: the tarball goes inside the project, so the container and a teammate can install it.
  mkdirSync(join(project, "vendor"));
  const tarball = join(project, "vendor", basename(await packedFlashTs()));
  copyFileSync(await packedFlashTs(), tarball);
  await exec("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", `./vendor/${basename(tarball)}`], { cwd: project, timeout: 300_000 });
  await chownProject();
}, 400_000);

afterAll(async () => {
  if (compose) {
    await run(compose, ["-p", composeProject, "-f", join(project, "compose.yaml"), "down", "-v", "--remove-orphans"], { cwd: project }).catch(() => {});
    // The Dev Containers CLI's image (it gives the image's user the host user's uid): vsc-<folder>-<hash>[-uid].
    const images = await exec("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=vsc-orders-app-*"]).catch(() => ({ stdout: "" }));
    for (const image of images.stdout.split("\n").filter(Boolean)) await exec("docker", ["rmi", image]).catch(() => {});
  }
  if (docker.available) await cleanupProject(project);
  await untagPinnedImage?.();
  rmSync(work, { recursive: true, force: true });
}, 180_000);

describe("a project made by flash init", () => {
  it("type-checks with its strict tsconfig against the installed SDK", async () => {
    await exec(join(project, "node_modules", ".bin", "tsc"), ["-p", project], { cwd: project });
  }, 120_000);

  it("npm install, then flash dev natively: every route answers and a host edit is served", async () => {
    const dev = await startDevProcess(project, [], {}, join(project, "node_modules", ".bin", "flash"));
    try {
      const port = Number(new URL(dev.url).port);
      await expectEveryRoute(hostTransport(port), 60_000);
      await expectHostEditServed(project, 1, hostTransport(port));
    } finally {
      await dev.stop();
    }
    // The same user works in the containers next: what flash dev wrote here is theirs.
    await chownProject();
  }, 180_000);
});

describe.skipIf(!docker.available)("the project in containers (Docker)", () => {
  beforeAll(async () => {
    untagPinnedImage = await ensurePinnedNodeImage(NODE_IMAGE);
  }, 60_000);

  const composeLabel = `label=com.docker.compose.project=${composeProject}`;
  const leftovers = async (): Promise<{ containers: string[]; volumes: string[] }> => ({
    containers: (await exec("docker", ["ps", "-aq", "--filter", composeLabel])).stdout.split("\n").filter(Boolean),
    volumes: (await exec("docker", ["volume", "ls", "-q", "--filter", composeLabel])).stdout.split("\n").filter(Boolean),
  });

  it.skipIf(!compose)("docker compose up, from a shell with no Node on its PATH: every route, a host edit, files owned by the project's owner", async () => {
    const port = await freePort();
    const bin = noNodePath(work, compose!);
    // The shell proves there is no node before handing over to compose.
    const shell = `if command -v node >/dev/null; then echo "node is on PATH" >&2; exit 97; fi; exec ${compose!.join(" ")} -p ${composeProject} up -d`;
    const env = { PATH: bin, HOME: process.env.HOME ?? "/root", FLASH_PORT: String(port), ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}) };
    await exec("/bin/sh", ["-c", shell], { cwd: project, env, timeout: 300_000 });
    try {
      await expectEveryRoute(hostTransport(port), 300_000);
      await expectHostEditServed(project, 2, hostTransport(port));
      if (asRoot) {
        for (const file of ["", "resources.json"]) expect(statSync(join(project, ".runpod", file)).uid, `.runpod/${file}`).toBe(OWNER.uid);
      }
    } catch (error) {
      const logs = await run(compose!, ["-p", composeProject, "logs", "--no-color"], { cwd: project }).catch(() => ({ stdout: "" }));
      throw new Error(`${String(error)}\n--- compose logs ---\n${logs.stdout.slice(-6000)}`, { cause: error });
    }
    await exec("/bin/sh", ["-c", `exec ${compose!.join(" ")} -p ${composeProject} down`], { cwd: project, env, timeout: 120_000 });
    const left = await leftovers();
    expect(left.containers).toEqual([]);
    expect(left.volumes).toEqual([`${composeProject}_node_modules`]); // the dependencies, kept for the next start
  }, 420_000);

  it.skipIf(!compose)("devcontainer up: flash dev serves inside, answers Codespaces host names, terminals run as the user", async () => {
    const port = await freePort();
    const env = { ...process.env, COMPOSE_PROJECT_NAME: composeProject, FLASH_PORT: String(port) };
    const cli = (args: string[], timeout = 120_000) => exec(DEVCONTAINER, [...args, "--workspace-folder", project], { cwd: project, env, timeout, maxBuffer: 64 * 1024 * 1024 });
    await cli(["up"], 600_000).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`devcontainer up failed:\n${(error.stdout ?? "").slice(-3000)}\n${(error.stderr ?? "").slice(-3000)}`, { cause: error });
    });
    const inside: Transport = async (calls) => {
      const { stdout } = await cli(["exec", "node", "-e", INSIDE_SCRIPT, JSON.stringify(calls), "8888"]);
      return JSON.parse(stdout.trim().split("\n").pop() ?? "[]") as Awaited<ReturnType<Transport>>;
    };
    await expectEveryRoute(inside, 300_000);
    await expectHostEditServed(project, 3, inside, 60_000);

    const codespaces = await inside([
      { ...EXAMPLE_CALLS[2]!.call, host: `orders-app-5x7q-8888.app.github.dev` },
      { ...EXAMPLE_CALLS[2]!.call, host: "rebound.example" },
    ]);
    expect(codespaces.map((a) => a?.status)).toEqual([200, 403]);

    const terminal = await cli(["exec", "sh", "-c", "id -u; command -v flash"]);
    expect(terminal.stdout.trim().split("\n")).toEqual([String(asRoot ? OWNER.uid : process.getuid?.()), "/workspace/node_modules/.bin/flash"]);

    await run(compose!, ["-p", composeProject, "-f", join(project, "compose.yaml"), "down"], { cwd: project });
    const left = await leftovers();
    expect(left.containers).toEqual([]);
    expect(left.volumes).toEqual([`${composeProject}_node_modules`]);
  }, 900_000);

  it("npx flash dev with Docker present (the host CLI), flash-ts installed from a tarball outside the project: every route, a dependency, a host edit", async () => {
    // "Using it in your project": the tarball next to the project, not in it, and another dependency (ms) used by a function.
    const outside = join(work, basename(await packedFlashTs()));
    copyFileSync(await packedFlashTs(), outside);
    await exec("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", `../${basename(outside)}`, "ms@2.1.3"], { cwd: project, timeout: 300_000 });
    expect(JSON.parse(readFileSync(join(project, "package.json"), "utf8"))).toMatchObject({ dependencies: { "flash-ts": `file:../${basename(outside)}` } });
    writeFileSync(
      join(project, "ms_worker.ts"),
      `import { remote, CpuLiveServerless } from "flash-ts";\nimport ms from "ms";\nconst cpu = new CpuLiveServerless({ name: "ms-worker" });\nexport const took = remote(cpu, async (input: { ms?: number }) => ({ took: ms(input?.ms ?? 90_000) }));\n`,
    );
    await chownProject();

    const port = await freePort();
    const child = spawn(join(project, "node_modules", ".bin", "flash"), ["dev", "--port", String(port), "--local"], {
      cwd: project,
      env: { ...process.env, FLASH_CONTAINER: "", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    try {
      await expectEveryRoute(hostTransport(port), 420_000);
      expect(await requestOnce(port, { method: "POST", path: "/ms_worker/run_sync", body: { input: { ms: 90_000 } } })).toMatchObject({
        status: 200,
        json: { status: "COMPLETED", output: { took: "2m" } },
      });
      await expectHostEditServed(project, 4, hostTransport(port));
      // What the user saw meanwhile: the image build's steps (when it was built) and the install inside.
      if (/Building the dev image/.test(output)) expect(output).toMatch(/Step \d+\/\d+ :/);
      expect(output).toMatch(/Installing the project's dependencies in the container/);
    } catch (error) {
      throw new Error(`${String(error)}\n--- output ---\n${output.slice(-6000)}`, { cause: error });
    } finally {
      child.kill("SIGINT");
      await exited;
    }
    expect(await projectContainers(project)).toEqual([]);
  }, 600_000);
});
