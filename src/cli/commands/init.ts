/** `flash init [dir]`: write a new project that `flash dev` serves at once. */
import { relative, resolve } from "node:path";
import { AppError } from "../../common/errors.js";
import { initProject } from "../../init/init-project.js";
import { parseCommandArgs } from "../command-args.js";
import type { Command } from "../context.js";

export const INIT_HELP = `Usage: flash init [dir] [options]

Writes a new flash-ts project into dir (default: the current folder; created
when missing): package.json with flash-ts pinned to this version, a strict
tsconfig.json, example workers (a GPU and a CPU queue-based function, a
load-balanced API with a path parameter, a pipeline calling two functions),
.gitignore, .env.example, a README with curl commands, and the files that run
it in a container with only Docker (compose.yaml) or in VS Code / Codespaces
(.devcontainer/devcontainer.json).

Options:
  --name <name>    the npm package name (default: the folder's name)
  --force          write into a folder that has files: add what is missing, keep the rest
  --overwrite      with --force: replace existing files too
  -h, --help       show this help
`;

const command: Command = async (argv, ctx) => {
  const parsed = parseCommandArgs("init", {
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      force: { type: "boolean" },
      overwrite: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const { values, positionals } = parsed;
  if (values.help) {
    ctx.stdout(INIT_HELP);
    return 0;
  }
  if (positionals.length > 1) {
    throw new AppError("INVALID_INPUT", `flash init takes one folder, got ${positionals.length}: ${positionals.join(" ")}`, { hint: "Quote a folder name that has spaces." });
  }
  const result = initProject({
    dir: resolve(ctx.cwd, positionals[0] ?? "."),
    ...(values.name !== undefined ? { name: values.name } : {}),
    force: values.force === true,
    overwrite: values.overwrite === true,
  });

  const rel = relative(ctx.cwd, result.dir);
  const where = rel === "" ? "." : rel.startsWith("..") ? result.dir : rel;
  const lines = [`Created ${result.name} in ${where}:`];
  for (const path of result.written) lines.push(`  + ${path}`);
  for (const path of result.overwritten) lines.push(`  ~ ${path} (replaced)`);
  for (const path of result.kept) lines.push(`  = ${path} (kept yours; --overwrite replaces it)`);
  lines.push("", "Next:");
  if (where !== ".") lines.push(`  cd ${where.includes(" ") ? JSON.stringify(where) : where}`);
  lines.push(
    "  npm install && npx flash dev     # serves on http://localhost:8888",
    "  docker compose up                # the same, with only Docker",
    "",
    "The README has a curl command for every route. Commit package-lock.json: the container installs what it pins.",
  );
  ctx.stdout(lines.join("\n") + "\n");
  return 0;
};

export default command;
