/**
 * The container files `flash init` writes into a project: `compose.yaml`
 * (`docker compose up` with nothing but Docker on the machine) and
 * `.devcontainer/devcontainer.json` (VS Code Dev Containers, Codespaces, the
 * Dev Containers CLI), which opens the same compose service. Both are made
 * from the settings the host CLI's container uses (`container-settings.ts`).
 *
 * The image is the stock Node image, pinned, running the flash-ts the
 * project's lockfile pins (docs/internals.md, "The dev container", says why
 * not the dev image). Before the project's dependencies are installed there
 * is no flash-ts in the container, so a short start script (no `$` in it:
 * compose would read one as a variable) installs them once, as the owner of
 * the project, and hands over to flash-ts's own container entrypoint, which
 * does the rest on every start (user, HOME, reinstall when the lockfile
 * changes, then `flash dev`).
 */
import {
  CODESPACES_ALLOWED_HOSTS,
  COMPOSE_FORWARDED_ENV,
  CONTAINER_ENV,
  CONTAINER_PORT,
  DEPS_DIR,
  DEV_COMMAND,
  IMAGE_USER,
  NODE_IMAGE,
  STATE_DIR,
  WORKSPACE,
} from "./container-settings.js";
import { LABELS } from "./labels.js";

/** The compose service's name (the devcontainer opens it by this name). */
export const COMPOSE_SERVICE = "flash";
/** The compose volume holding the project's node_modules. */
export const COMPOSE_DEPS_VOLUME = "node_modules";
/** Where the project's own flash-ts keeps its container entrypoint, once installed. */
export const PROJECT_ENTRYPOINT = `${WORKSPACE}/${DEPS_DIR}/flash-ts/dist/container/container-entrypoint.js`;

/** The start script (`node -e`), run as root; its arguments are the command. */
export const START_SCRIPT = [
  "// Written by flash init. As root, only until the project's own flash-ts is installed:",
  "// installs the dependencies into the node_modules volume as the owner of the project, then",
  "// hands over to flash-ts's container entrypoint (it drops to that user and runs the command).",
  'const fs = require("node:fs");',
  'const { spawnSync } = require("node:child_process");',
  `const entry = ${JSON.stringify(PROJECT_ENTRYPOINT)};`,
  "const stayOrExit = (code) => {",
  "  // In a Dev Container the container stays up, so a terminal can fix the project.",
  '  if (process.env.FLASH_KEEP_ALIVE !== "1") process.exit(code);',
  '  process.on("SIGTERM", () => process.exit(0));',
  "  setInterval(() => {}, 1 << 30);",
  "};",
  "if (!fs.existsSync(entry)) {",
  '  const { uid, gid } = fs.statSync(".");',
  `  for (const dir of [${JSON.stringify(DEPS_DIR)}, ${JSON.stringify(STATE_DIR)}]) if (fs.existsSync(dir) && fs.statSync(dir).uid !== uid) fs.chownSync(dir, uid, gid);`,
  '  const npm = fs.existsSync("package-lock.json") ? ["ci"] : ["install", "--no-package-lock"];',
  '  console.log("Installing the project\'s dependencies into the node_modules volume (npm " + npm[0] + ")...");',
  '  const user = ["--reuid", String(uid), "--regid", String(gid), "--clear-groups"];',
  '  const env = { ...process.env, HOME: "/tmp/flash-home", NPM_CONFIG_UPDATE_NOTIFIER: "false" };',
  '  const result = spawnSync("setpriv", [...user, "npm", ...npm, "--no-audit", "--no-fund", "--no-progress"], { stdio: "inherit", env });',
  "  if (result.status !== 0) {",
  '    console.error("npm " + npm[0] + " failed (npm\'s reason is above). Fix package.json or package-lock.json and start again.");',
  "    stayOrExit(1);",
  "  } else {",
  '    process.env.FLASH_DEPS_INSTALLED = "1";',
  "  }",
  "}",
  "if (fs.existsSync(entry)) {",
  "  process.argv = [process.argv[0], entry, ...process.argv.slice(1)];",
  "  import(entry);",
  "}",
].join("\n");

const yamlString = (value: string): string => JSON.stringify(value);

export interface ProjectComposeOptions {
  /** The Node image; default `NODE_IMAGE`. */
  image?: string;
}

/** `compose.yaml` for a project. Works with `docker compose` (v2) and `docker-compose` (1.29). */
export function renderProjectCompose(options: ProjectComposeOptions = {}): string {
  const image = options.image ?? NODE_IMAGE;
  const env = [
    ...Object.entries(CONTAINER_ENV).map(([k, v]) => `${k}=${v}`),
    `FLASH_PUBLIC_URL=http://localhost:\${FLASH_PORT:-${CONTAINER_PORT}}`,
    ...COMPOSE_FORWARDED_ENV,
  ];
  const labels = { [LABELS.managed]: "true" };
  return [
    "# flash dev in a container, with nothing but Docker on the machine:",
    "#",
    "#   docker compose up        # (or docker-compose up) serves this project on http://localhost:8888",
    "#",
    `# The container runs the stock Node image (${image}, one Node release for everyone) and`,
    "# the flash-ts your package-lock.json pins: the same versions for the whole team. The project is",
    `# mounted at ${WORKSPACE} and its ${STATE_DIR}/ (endpoint cache, emulator state) explicitly, so that`,
    "# state stays here; the npm dependencies are installed inside, into a volume (npm ci, again when",
    "# the lockfile changes). It starts as root only to hand that volume to the owner of this folder",
    "# and then runs as that user, so files it writes stay yours. File changes are seen by polling.",
    "#",
    "# Settings, from the shell or a .env file here:",
    "#   FLASH_PORT        the port on 127.0.0.1 (default 8888)",
    "#   FLASH_NODE_IMAGE  another Node image (a mirror); keep the same Node release",
    "#   RUNPOD_API_KEY    run on Runpod instead of the local emulator (passed at run time, never built in)",
    "#",
    "# .devcontainer/devcontainer.json opens this same service in VS Code or Codespaces.",
    "services:",
    `  ${COMPOSE_SERVICE}:`,
    `    image: \${FLASH_NODE_IMAGE:-${image}}`,
    "    init: true",
    '    user: "0:0"',
    `    working_dir: ${WORKSPACE}`,
    "    entrypoint:",
    "      - node",
    "      - -e",
    "      - |",
    ...START_SCRIPT.split("\n").map((line) => (line ? `        ${line}` : "")),
    `    command: [${DEV_COMMAND.map(yamlString).join(", ")}]`,
    "    tty: true",
    "    environment:",
    ...env.map((e) => `      - ${e}`),
    "    ports:",
    `      - "127.0.0.1:\${FLASH_PORT:-${CONTAINER_PORT}}:${CONTAINER_PORT}"`,
    "    volumes:",
    `      - .:${WORKSPACE}`,
    `      - ./${STATE_DIR}:${WORKSPACE}/${STATE_DIR}`,
    `      - ${COMPOSE_DEPS_VOLUME}:${WORKSPACE}/${DEPS_DIR}`,
    "    labels:",
    ...Object.entries({ ...labels, [LABELS.role]: "dev-container" }).map(([k, v]) => `      ${k}: ${yamlString(v)}`),
    "",
    "volumes:",
    `  ${COMPOSE_DEPS_VOLUME}:`,
    "    labels:",
    ...Object.entries({ ...labels, [LABELS.role]: "deps-volume" }).map(([k, v]) => `      ${k}: ${yamlString(v)}`),
    "",
  ].join("\n");
}

/** `.devcontainer/devcontainer.json` for a project named `name`: the compose service above, opened in an editor. */
export function renderProjectDevcontainer(name: string): string {
  const config = {
    name,
    dockerComposeFile: ["../compose.yaml"],
    service: COMPOSE_SERVICE,
    workspaceFolder: WORKSPACE,
    // flash dev stays the container's main process (the compose service's own start).
    overrideCommand: false,
    shutdownAction: "stopCompose",
    containerEnv: {
      // Codespaces forwards the port under its own domain: let the dev server answer it.
      FLASH_ALLOWED_HOSTS: CODESPACES_ALLOWED_HOSTS,
      // If flash dev stops (or the install fails), the container stays up for a terminal.
      FLASH_KEEP_ALIVE: "1",
    },
    // Terminals run as the image's user, given your uid on Linux; flash dev runs as the owner of the folder.
    remoteUser: IMAGE_USER,
    // `flash …` in a terminal is the project's own flash-ts.
    remoteEnv: { PATH: `\${containerEnv:PATH}:${WORKSPACE}/${DEPS_DIR}/.bin` },
    updateRemoteUserUID: true,
    forwardPorts: [CONTAINER_PORT],
    portsAttributes: { [String(CONTAINER_PORT)]: { label: "flash dev", onAutoForward: "notify" } },
    customizations: { vscode: { extensions: ["dbaeumer.vscode-eslint"] } },
  };
  const header = [
    "// Opens this project in a container: VS Code Dev Containers, GitHub Codespaces, or the Dev",
    "// Containers CLI (npx @devcontainers/cli up --workspace-folder .). It is the compose service of",
    `// ../compose.yaml, so it runs what \`docker compose up\` runs: flash dev serving on port ${CONTAINER_PORT}, forwarded.`,
  ];
  return `${header.join("\n")}\n${JSON.stringify(config, null, 2)}\n`;
}
