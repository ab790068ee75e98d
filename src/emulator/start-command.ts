/**
 * How an endpoint's start command (its REST v2 `args`) becomes a process.
 *
 * A command naming this package's runtime — `flash worker …`, `npx flash-ts
 * worker …`, `npx -y flash-ts@<version> worker …` — runs the local copy:
 * `node <CLI_ENTRY> worker …` with the same Node binary, nothing downloaded.
 * Anything else runs through `/bin/sh -c`, as a container would run it.
 * An empty command means "the image's default", which for a flash-ts image
 * is `flash worker`.
 */

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
 * Splits a plain command line into words (single and double quotes, backslash
 * escapes). Returns undefined when the text uses shell syntax (pipes,
 * redirections, variables, globs…), which only a shell can run faithfully.
 */
export function splitCommand(text: string): string[] | undefined {
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
      else if (ch === "$" || ch === "`") return undefined;
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
    } else if (ch === " " || ch === "\t") {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else if (SHELL_SYNTAX.has(ch)) {
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
  return { file: "/bin/sh", args: ["-c", text], local: false, display: text };
}
