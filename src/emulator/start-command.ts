/**
 * How an endpoint's start command (its REST v2 `args`) becomes a process.
 *
 * Process workers: a command naming this package's runtime — `flash worker …`,
 * `npx flash-ts worker …`, `npx -y flash-ts@<version> worker …` — runs the
 * local copy: `node <CLI_ENTRY> worker …` with the same Node binary, nothing
 * downloaded. A plain `node …` command (the bootstrap) runs on that Node
 * binary too; anything else runs through `/bin/sh -c` with this machine's
 * programs. An empty command means "the
 * image's default", which for a flash-ts image is `flash worker`.
 *
 * Container workers: containerCommand() applies the text to the image the
 * way Runpod does (docs/internals.md, "Container workers").
 */

import { AppError } from "../common/errors.js";
import { isRecord } from "../common/is-record.js";

/** A resolved start command: what to spawn. */
export interface StartCommand {
  /** Executable. */
  file: string;
  args: string[];
  /** True when this runs the local flash-ts worker runtime. */
  local: boolean;
  /** What to show in logs. */
  display: string;
}

/** Characters that make a command shell syntax rather than a plain word list. */
const SHELL_SYNTAX = new Set(["|", "&", ";", "<", ">", "(", ")", "$", "`", "*", "?", "[", "]", "{", "}", "~", "#", "\n"]);

/**
 * Splits a command line into words the way a POSIX shell groups them: single
 * and double quotes, backslash escapes. With `literal`, nothing else is
 * special (`$X`, `&&`, `*` are plain characters, as in Runpod's splitting);
 * without it, shell syntax makes it give up. Undefined when it cannot split.
 */
function tokenize(text: string, literal: boolean): string[] | undefined {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) current += text[++i];
      else if (!literal && (ch === "$" || ch === "`")) return undefined;
      else current += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\") {
      if (i + 1 >= text.length) return undefined;
      current += text[++i];
      inWord = true;
    } else if (ch === " " || ch === "\t" || (literal && ch === "\n")) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else if (!literal && SHELL_SYNTAX.has(ch)) {
      return undefined;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) return undefined;
  if (inWord) words.push(current);
  return words;
}

/**
 * Splits a plain command line into words (single and double quotes, backslash
 * escapes). Returns undefined when the text uses shell syntax (pipes,
 * redirections, variables, globs…), which only a shell can run faithfully.
 */
export function splitCommand(text: string): string[] | undefined {
  return tokenize(text, false);
}

/** What a container runs: the image's ENTRYPOINT and CMD, each replaced when set. */
export interface ContainerCommand {
  cmd?: string[];
  entrypoint?: string[];
}

/**
 * How Runpod applies an endpoint's start command (`args`) to its image
 * (docs/internals.md, "The emulator"): empty keeps the image's CMD; a JSON
 * object `{"cmd": […], "entrypoint": […]}` replaces either; any other text is
 * split into words like a shell would (quotes group, nothing is expanded) and
 * replaces the CMD, the image's ENTRYPOINT staying in front of it.
 * Throws AppError(INVALID_INPUT) for text it cannot split.
 */
export function containerCommand(args: string): ContainerCommand {
  const text = args.trim();
  if (text === "") return {};
  if (text.startsWith("{")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (isRecord(value)) {
      const list = (v: unknown): v is string[] => Array.isArray(v) && v.every((w) => typeof w === "string");
      if ((value.cmd !== undefined && !list(value.cmd)) || (value.entrypoint !== undefined && !list(value.entrypoint))) {
        throw new AppError("INVALID_INPUT", `start command ${JSON.stringify(text.slice(0, 80))}: cmd and entrypoint must be lists of strings`);
      }
      return { ...(value.cmd !== undefined ? { cmd: value.cmd as string[] } : {}), ...(value.entrypoint !== undefined ? { entrypoint: value.entrypoint as string[] } : {}) };
    }
  }
  const words = tokenize(text, true);
  if (!words) throw new AppError("INVALID_INPUT", `start command ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + "…" : text)} has an unbalanced quote`);
  return { cmd: words };
}

/** The arguments after `worker` when `words` names this package's runtime, else undefined. */
export function localWorkerArgs(words: readonly string[]): string[] | undefined {
  if (words[0] === "flash" && words[1] === "worker") return words.slice(2);
  if (words[0] === "npx") {
    let i = 1;
    // npx's own flags (-y, --yes, --quiet, …) come before the package.
    while (i < words.length && words[i]!.startsWith("-")) i++;
    if (/^flash-ts(@\S+)?$/.test(words[i] ?? "") && words[i + 1] === "worker") return words.slice(i + 2);
  }
  return undefined;
}

/** Resolves an endpoint's `args` into the process to spawn. */
export function resolveStartCommand(commandLine: string, runtime: { execPath: string; cliEntry: string }): StartCommand {
  const text = commandLine.trim();
  const words = text === "" ? ["flash", "worker"] : splitCommand(text);
  const rest = words ? localWorkerArgs(words) : undefined;
  if (rest) {
    return { file: runtime.execPath, args: [runtime.cliEntry, "worker", ...rest], local: true, display: text || "flash worker" };
  }
  // `node …` (the bootstrap) runs on the emulator's own Node.js — the one flash-ts runs on —
  // rather than whichever `node` the PATH finds first.
  if (words?.[0] === "node") return { file: runtime.execPath, args: words.slice(1), local: false, display: text };
  return { file: "/bin/sh", args: ["-c", text], local: false, display: text };
}
