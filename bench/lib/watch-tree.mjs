// Generates a realistic project tree for the watcher benchmarks: nested
// source folders of .ts files (with some tests, JSON and markdown mixed in),
// plus the folders a watcher must never visit (node_modules, .git, dist)
// filled with many files, so that a watcher which does visit them pays for it.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * @param {{ files: number, ignoredFiles?: number, dir?: string }} options
 * @returns {{ root: string, files: string[], ignoredFiles: number, directories: number, cleanup(): void }}
 *   files: the watched files, relative to root ("/" separators)
 */
export function generateWatchTree({ files, ignoredFiles = files * 2, dir }) {
  const root = dir ?? mkdtempSync(join(tmpdir(), "flash-watch-bench-"));
  const rel = [];
  const dirs = new Set();
  const write = (path, text) => {
    const parts = path.split("/");
    const folder = parts.slice(0, -1).join("/");
    if (folder && !dirs.has(folder)) {
      mkdirSync(join(root, folder), { recursive: true });
      for (let i = 1; i <= parts.length - 1; i++) dirs.add(parts.slice(0, i).join("/"));
    }
    writeFileSync(join(root, path), text);
  };
  // src/<area 0..9>/<feature 0..7>/<part 0..3>/file.ts: ~320 leaf folders, 3-4 levels deep.
  const areas = ["api", "workers", "lib", "models", "jobs", "utils", "services", "handlers", "db", "pipelines"];
  let i = 0;
  while (rel.length < files) {
    const area = areas[i % areas.length];
    const feature = Math.floor(i / areas.length) % 8;
    const part = Math.floor(i / (areas.length * 8)) % 4;
    const base = `src/${area}/feature-${feature}/part-${part}`;
    const kind = i % 20;
    const path =
      kind === 0 ? `${base}/data-${i}.json` : kind === 1 ? `${base}/notes-${i}.md` : kind === 2 ? `${base}/mod-${i}.test.ts` : `${base}/mod-${i}.ts`;
    write(path, `export const value${i} = ${i};\nexport function f${i}(x: number): number { return x + ${i}; }\n`);
    rel.push(path);
    i++;
  }
  writeFileSync(join(root, "package.json"), '{"name":"bench-project","type":"module"}\n');
  writeFileSync(join(root, ".env"), "A=1\n");
  rel.push("package.json", ".env");
  // Ignored: node_modules (70 %), .git objects (20 %), dist (10 %).
  for (let j = 0; j < ignoredFiles; j++) {
    const r = j % 10;
    const path =
      r < 7
        ? `node_modules/pkg-${j % 150}/lib/sub-${j % 5}/file-${j}.js`
        : r < 9
          ? `.git/objects/${(j % 256).toString(16).padStart(2, "0")}/obj-${j}`
          : `dist/${areas[j % areas.length]}/out-${j}.js`;
    write(path, `module.exports = ${j};\n`);
  }
  return {
    root,
    files: rel,
    ignoredFiles,
    directories: [...dirs].filter((d) => !/^(node_modules|\.git|dist)(\/|$)/.test(d)).length + 1,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
