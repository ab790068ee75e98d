/**
 * The container settings are defined once (container-settings.ts): the host
 * CLI's container spec, the compose.yaml and devcontainer.json `flash init`
 * writes, and this repository's own compose.yaml and devcontainer.json must
 * all say the same.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  CODESPACES_ALLOWED_HOSTS,
  COMPOSE_FORWARDED_ENV,
  CONTAINER_ENV,
  CONTAINER_PORT,
  DEPS_DIR,
  DEV_COMMAND,
  IMAGE_USER,
  isForwardedEnv,
  NODE_IMAGE,
  STATE_DIR,
  WORKSPACE,
} from "../../src/container/container-settings.js";
import { createDevContainerSpec } from "../../src/container/dev-container-spec.js";
import { COMPOSE_SERVICE, renderProjectCompose, renderProjectDevcontainer, START_SCRIPT } from "../../src/container/project-container-files.js";
import { isAllowedHost, parseAllowedHosts } from "../../src/server/host-guard.js";

const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
const PUBLISHED = `127.0.0.1:\${FLASH_PORT:-${CONTAINER_PORT}}:${CONTAINER_PORT}`;

/** devcontainer.json is JSON with line comments. */
function parseJsonc(text: string): Record<string, unknown> {
  return JSON.parse(text.replace(/^\s*\/\/.*$/gm, "").replace(/\s\/\/ .*$/gm, "")) as Record<string, unknown>;
}

const hostSpec = createDevContainerSpec({
  projectRoot: "/home/ada/app",
  image: "flash-dev:test",
  hostIp: "127.0.0.1",
  hostPort: CONTAINER_PORT,
  publicUrl: `http://localhost:${CONTAINER_PORT}`,
  devArgs: [],
  env: Object.fromEntries(COMPOSE_FORWARDED_ENV.map((k) => [k, "x"])),
  interactive: false,
  version: "0.0.0",
  owner: { host: "h", pid: 1 },
});

describe("one set of container settings", () => {
  it("the host CLI's container: mounts, port, environment and command from the settings", () => {
    expect(hostSpec.mounts.map((m) => m.target)).toEqual([WORKSPACE, `${WORKSPACE}/${STATE_DIR}`, `${WORKSPACE}/${DEPS_DIR}`]);
    expect(hostSpec.ports).toEqual([{ containerPort: CONTAINER_PORT, hostIp: "127.0.0.1", hostPort: CONTAINER_PORT }]);
    expect(hostSpec.env).toMatchObject(CONTAINER_ENV);
    expect(hostSpec.command).toEqual(DEV_COMMAND);
    expect(hostSpec.init).toBe(true); // the engine's init as PID 1 (the image has none of its own)
    // Everything compose passes through by name, the host CLI forwards too.
    for (const key of COMPOSE_FORWARDED_ENV) expect(isForwardedEnv(key), key).toBe(true);
  });

  it("a project's compose.yaml: the pinned Node image, the same mounts, port, environment and command", () => {
    const compose = renderProjectCompose();
    expect(compose).toContain(`image: \${FLASH_NODE_IMAGE:-${NODE_IMAGE}}`);
    expect(NODE_IMAGE).toMatch(/^node:\d+\.\d+\.\d+-/); // one Node release, not a moving tag
    expect(compose).toContain(`      - .:${WORKSPACE}\n`);
    expect(compose).toContain(`      - ./${STATE_DIR}:${WORKSPACE}/${STATE_DIR}\n`);
    expect(compose).toContain(`      - node_modules:${WORKSPACE}/${DEPS_DIR}\n`);
    expect(compose).toContain(`      - "${PUBLISHED}"`);
    for (const [k, v] of Object.entries(CONTAINER_ENV)) expect(compose).toContain(`      - ${k}=${v}\n`);
    for (const k of COMPOSE_FORWARDED_ENV) expect(compose).toContain(`      - ${k}\n`);
    expect(compose).toContain(`    command: ${JSON.stringify(DEV_COMMAND).replaceAll(",", ", ")}`);
    expect(compose).toContain("    init: true"); // tini-like PID 1: signals reach flash dev, workers are reaped
    expect(compose).toMatch(/dev\.flash-ts\.managed: "true"/);
  });

  it("the start script has no `$` (compose would read it as a variable) and is valid JavaScript", () => {
    expect(START_SCRIPT).not.toContain("$");
    expect(() => new Function("require", START_SCRIPT.replace("import(entry);", "void entry;"))).not.toThrow();
  });

  it("a project's devcontainer.json opens that compose service, forwards the port and answers Codespaces host names", () => {
    const config = parseJsonc(renderProjectDevcontainer("orders"));
    expect(config).toMatchObject({
      name: "orders",
      dockerComposeFile: ["../compose.yaml"],
      service: COMPOSE_SERVICE,
      workspaceFolder: WORKSPACE,
      overrideCommand: false,
      remoteUser: IMAGE_USER,
      forwardPorts: [CONTAINER_PORT],
    });
    const allowed = parseAllowedHosts((config.containerEnv as Record<string, string>).FLASH_ALLOWED_HOSTS);
    expect(isAllowedHost(`ada-orders-5x7-${CONTAINER_PORT}.app.github.dev`, allowed)).toBe(true);
    expect(isAllowedHost("evil.example", allowed)).toBe(false);
  });

  it("this repository's compose.yaml and devcontainer.json say the same", () => {
    const compose = readFileSync(join(REPO_ROOT, "compose.yaml"), "utf8");
    expect(compose).toContain(`      - "${PUBLISHED}"`);
    expect(compose).toMatch(new RegExp(`:${WORKSPACE}\\n`));
    expect(compose).toContain(`/${STATE_DIR}:${WORKSPACE}/${STATE_DIR}\n`);
    expect(compose).toContain(`:${WORKSPACE}/${DEPS_DIR}\n`);
    for (const k of COMPOSE_FORWARDED_ENV) expect(compose).toContain(`      - ${k}\n`);
    expect(compose).toContain("    init: true\n");

    const devcontainer = parseJsonc(readFileSync(join(REPO_ROOT, ".devcontainer", "devcontainer.json"), "utf8"));
    expect(devcontainer).toMatchObject({ workspaceFolder: WORKSPACE, forwardPorts: [CONTAINER_PORT], remoteUser: IMAGE_USER, init: true });
    expect(devcontainer.containerEnv).toMatchObject({ FLASH_ALLOWED_HOSTS: CODESPACES_ALLOWED_HOSTS });
    expect(String(devcontainer.workspaceMount)).toContain(`target=${WORKSPACE},`);
    expect(JSON.stringify(devcontainer.mounts)).toContain(`target=${WORKSPACE}/${DEPS_DIR},`);
  });
});
