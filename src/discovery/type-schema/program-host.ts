/**
 * A TypeScript program over the project that is cheap to rebuild after an
 * edit: parsed (and bound) source files are kept between runs and reused
 * while their mtime and size are unchanged, and the previous program is
 * passed to `createProgram` so module resolution is redone only for changed
 * files. A first program on a small project costs about a second (mostly
 * parsing the standard library and `@types/node`); a rebuild after one file
 * changed, a few milliseconds. Numbers in docs/type-schemas.md.
 *
 * Only the files that define remote functions are roots; everything they
 * import (project files, packages' `.d.ts`) comes in through resolution, so
 * the program never holds more of the project than the schemas need.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";

interface CachedFile {
  sourceFile: ts.SourceFile;
  /** mtime and size when read; undefined for files that never change (the standard library). */
  version: string | undefined;
}

/** What one rebuild did. */
export interface ProgramStats {
  durationMs: number;
  /** Source files in the program. */
  sourceFiles: number;
  /** Files read and parsed for this program (the rest were reused). */
  parsedFiles: number;
  /** True when the previous program's structure (module resolution) was reused. */
  reusedStructure: boolean;
  /** True when tsconfig.json changed since the last program (or this is the first). */
  optionsChanged: boolean;
}

export interface ProjectProgram {
  /** Builds the program for `rootFiles` (absolute). `changedPaths` (absolute), when known, tells which files changed; a file that was not in the last program then makes the structure be resolved afresh. */
  update(rootFiles: readonly string[], changedPaths?: readonly string[]): { program: ts.Program; stats: ProgramStats };
  /** Drops every cached file and program. */
  dispose(): void;
}

/** Options when the project has no tsconfig.json: what esbuild accepts, read the way `tsc` would read it. */
function defaultOptions(root: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    allowJs: true,
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    esModuleInterop: true,
    skipLibCheck: true,
    // TypeScript 6 includes no @types by default; Node's are what project code uses.
    types: hasTypesNode(root) ? ["node"] : [],
  };
}

function hasTypesNode(root: string): boolean {
  for (let dir = root; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules", "@types", "node", "package.json"))) return true;
    if (dirname(dir) === dir) return false;
  }
}

/**
 * The compiler options for the project: its root tsconfig.json when there
 * is one (as `tsc` reads it: `extends`, `paths`, `types`), else defaults.
 * Emit is off; JavaScript files are read so their JSDoc types count.
 */
export function projectCompilerOptions(root: string): ts.CompilerOptions {
  const configPath = join(root, "tsconfig.json");
  if (!existsSync(configPath)) return { ...defaultOptions(root), noEmit: true };
  const host: ts.ParseConfigFileHost = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} };
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, { noEmit: true }, host);
  if (!parsed) return { ...defaultOptions(root), noEmit: true };
  return {
    ...parsed.options,
    noEmit: true,
    allowJs: parsed.options.allowJs ?? true,
    skipLibCheck: true,
    incremental: false,
    composite: false,
    declaration: false,
    sourceMap: false,
  };
}

function fileVersion(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return undefined;
  }
}

/** Creates the reusable program of a project rooted at `root`. */
export function createProjectProgram(root: string): ProjectProgram {
  const projectRoot = resolve(root);
  const configPath = join(projectRoot, "tsconfig.json");
  const cache = new Map<string, CachedFile>();
  let parsedFiles = 0;
  let oldProgram: ts.Program | undefined;
  let options: ts.CompilerOptions = {};
  let configVersion: string | undefined | null = null; // null: never read
  let libDir = "";
  let host: ts.CompilerHost = ts.createCompilerHost({});

  /** (Re)reads tsconfig.json when it changed: new options mean new parses and a new resolution. */
  const refreshOptions = (): boolean => {
    const version = fileVersion(configPath);
    if (version === configVersion) return false;
    configVersion = version;
    options = projectCompilerOptions(projectRoot);
    libDir = dirname(ts.getDefaultLibFilePath(options));
    host = ts.createCompilerHost(options, true);
    const readSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => cachedSourceFile(readSourceFile, fileName, languageVersion, onError, shouldCreate);
    cache.clear();
    oldProgram = undefined;
    return true;
  };

  const cachedSourceFile = (
    readSourceFile: ts.CompilerHost["getSourceFile"],
    fileName: string,
    languageVersion: ts.ScriptTarget | ts.CreateSourceFileOptions,
    onError: ((message: string) => void) | undefined,
    shouldCreate: boolean | undefined,
  ): ts.SourceFile | undefined => {
    const immutable = fileName.startsWith(libDir);
    const version = immutable ? undefined : fileVersion(fileName);
    const cached = cache.get(fileName);
    if (cached && cached.version === version) return cached.sourceFile;
    const sourceFile = readSourceFile(fileName, languageVersion, onError, shouldCreate);
    parsedFiles++;
    if (sourceFile) cache.set(fileName, { sourceFile, version });
    else cache.delete(fileName);
    return sourceFile;
  };

  return {
    update(rootFiles, changedPaths) {
      const started = performance.now();
      parsedFiles = 0;
      const optionsChanged = refreshOptions();
      // Reusing the old structure skips module resolution for unchanged files, so it
      // cannot see a file that appeared since (an import that now resolves): only reuse
      // it when every changed path is a file the last program already had.
      const known = (path: string): boolean => oldProgram?.getSourceFile(path) !== undefined;
      const reuse = oldProgram !== undefined && changedPaths !== undefined && changedPaths.every(known);
      const program = ts.createProgram({ rootNames: [...rootFiles], options, host, ...(reuse ? { oldProgram } : {}) });
      oldProgram = program;
      // Keep only what this program uses: the cache never outgrows the program.
      const used = new Set(program.getSourceFiles().map((f) => f.fileName));
      for (const name of cache.keys()) if (!used.has(name)) cache.delete(name);
      return {
        program,
        stats: {
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          sourceFiles: used.size,
          parsedFiles,
          reusedStructure: reuse,
          optionsChanged,
        },
      };
    },
    dispose() {
      cache.clear();
      oldProgram = undefined;
      configVersion = null;
    },
  };
}
