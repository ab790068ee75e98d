/**
 * The files of a new project: the example workers, tsconfig, README and
 * ignore files come from `templates/init/` in this package (shipped with it:
 * package.json "files"); package.json and the container files are made here,
 * from this package's own version and the dev container's settings.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { renderProjectCompose, renderProjectDevcontainer } from "../container/project-container-files.js";
import { isRecord } from "../common/is-record.js";
import { PACKAGE_ROOT } from "../common/package-info.js";

export const TEMPLATES_DIR = join(PACKAGE_ROOT, "templates", "init");

/** Template files stored under another name: npm never packs a `.gitignore`, and dotfiles hide. */
const RENAMED: Record<string, string> = { gitignore: ".gitignore", "env.example": ".env.example" };

export interface ProjectFile {
  /** Relative, `/` separators. */
  path: string;
  content: string;
}

interface OwnManifest {
  version: string;
  engines?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readOwnManifest(): OwnManifest {
  const value: unknown = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8"));
  if (!isRecord(value) || typeof value.version !== "string") throw new Error(`${PACKAGE_ROOT}/package.json has no version`);
  return value as unknown as OwnManifest;
}

/** The new project's package.json: flash-ts pinned to the running version, TypeScript for `npm run typecheck`. */
export function renderPackageJson(name: string, own: OwnManifest = readOwnManifest()): string {
  const devDependencies: Record<string, string> = {};
  // The versions flash-ts itself is built and checked with.
  for (const dep of ["@types/node", "typescript"]) {
    const version = own.devDependencies?.[dep];
    if (version) devDependencies[dep] = version;
  }
  const manifest = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: { dev: "flash dev", typecheck: "tsc" },
    dependencies: { "flash-ts": own.version },
    devDependencies,
    ...(own.engines?.node ? { engines: { node: own.engines.node } } : {}),
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Every file of a new project named `name`, in a stable order. */
export function projectFiles(name: string, templatesDir = TEMPLATES_DIR): ProjectFile[] {
  const files: ProjectFile[] = [{ path: "package.json", content: renderPackageJson(name) }];
  for (const entry of readdirSync(templatesDir).sort()) {
    const text = readFileSync(join(templatesDir, entry), "utf8");
    files.push({ path: RENAMED[entry] ?? entry, content: text.replaceAll("{{name}}", name) });
  }
  files.push({ path: "compose.yaml", content: renderProjectCompose() });
  files.push({ path: ".devcontainer/devcontainer.json", content: renderProjectDevcontainer(name) });
  return files;
}
