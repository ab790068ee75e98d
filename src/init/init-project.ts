/**
 * `flash init`: writes a new project. Everything is checked before anything
 * is written, so bad input changes nothing:
 * - the package name must follow npm's rules (each broken rule is named);
 * - a folder with files in it is refused unless `force`, and even then its
 *   files are kept; only `overwrite` replaces them.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { AppError } from "../common/errors.js";
import { packageNameProblems, suggestPackageName } from "./package-name.js";
import { projectFiles, type ProjectFile } from "./project-template.js";

export interface InitOptions {
  /** The project folder; created when missing. */
  dir: string;
  /** The package name; default: the folder's name. */
  name?: string;
  /** Write into a folder that has files: missing files are added, existing ones kept. */
  force?: boolean;
  /** Replace existing files too (implies force). */
  overwrite?: boolean;
  /** The files to write; default: `projectFiles(name)`. */
  files?: (name: string) => ProjectFile[];
}

export interface InitResult {
  dir: string;
  name: string;
  /** Relative paths, in the order written. */
  written: string[];
  kept: string[];
  overwritten: string[];
}

/** Entries that do not make a folder "not empty": a fresh clone of an empty repository has one. */
const IGNORED_ENTRIES = new Set([".git"]);

export function initProject(options: InitOptions): InitResult {
  const dir = resolve(options.dir);
  const exists = existsSync(dir);
  if (exists && !statSync(dir).isDirectory()) {
    throw new AppError("INVALID_INPUT", `${dir} is a file, not a folder.`, { hint: "Name a folder to create the project in (it is created when missing)." });
  }

  const name = options.name ?? basename(dir);
  const problems = packageNameProblems(name);
  if (problems.length > 0) {
    const suggestion = suggestPackageName(name);
    const fromFolder = options.name === undefined;
    throw new AppError("INVALID_INPUT", `"${name}" is not a valid npm package name: ${problems.join("; ")}.`, {
      hint:
        (fromFolder ? "The name comes from the folder's name unless --name is given. " : "") +
        (suggestion ? `Try --name ${suggestion}.` : "Pass --name <name>: lowercase letters, digits and - . _, optionally @scope/name."),
      details: { name, problems },
    });
  }

  const force = options.force === true || options.overwrite === true;
  const present = exists ? readdirSync(dir).filter((entry) => !IGNORED_ENTRIES.has(entry)) : [];
  if (present.length > 0 && !force) {
    const shown = present.slice(0, 5).join(", ") + (present.length > 5 ? `, … (${present.length} entries)` : "");
    throw new AppError("INVALID_INPUT", `${dir} is not empty (${shown}); nothing was written.`, {
      hint: "Pick an empty or new folder, or pass --force to add the project's files and keep yours (--force --overwrite replaces them too).",
    });
  }

  const files = (options.files ?? projectFiles)(name);
  const result: InitResult = { dir, name, written: [], kept: [], overwritten: [] };
  for (const file of files) {
    const target = join(dir, ...file.path.split("/"));
    if (existsSync(target)) {
      if (statSync(target).isDirectory() || !options.overwrite) {
        result.kept.push(file.path);
        continue;
      }
      result.overwritten.push(file.path);
    } else {
      result.written.push(file.path);
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
  }
  return result;
}
