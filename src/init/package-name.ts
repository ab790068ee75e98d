/**
 * npm's rules for the name of a new package (the rules npm itself applies
 * when it creates or publishes one): each broken rule is reported by name.
 */
import { builtinModules } from "node:module";

const MAX_LENGTH = 214;
const SPECIAL = /[~'!()*]/;
const SCOPED = /^@([^/]+)\/([^/]+)$/;
const RESERVED_NAMES = new Set(["node_modules", "favicon.ico"]);

/** The rules `name` breaks, in words a person can act on; empty when it is a valid new package name. */
export function packageNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length === 0) return ["a package name cannot be empty"];
  if (name.trim() !== name) problems.push("a package name cannot start or end with spaces");
  if (name.length > MAX_LENGTH) problems.push(`a package name cannot be longer than ${MAX_LENGTH} characters (this one has ${name.length})`);
  if (name.toLowerCase() !== name) problems.push("a package name cannot contain capital letters");

  const scoped = SCOPED.exec(name);
  const bare = scoped ? scoped[2]! : name;
  for (const part of scoped ? [scoped[1]!, bare] : [name]) {
    if (part.startsWith(".")) problems.push("a package name cannot start with a period");
    if (part.startsWith("_")) problems.push("a package name cannot start with an underscore");
    if (part.startsWith("-")) problems.push("a package name cannot start with a hyphen");
  }
  if (SPECIAL.test(bare)) problems.push(`a package name cannot contain any of ~'!()*`);
  const urlSafe = scoped ? encodeURIComponent(scoped[1]!) === scoped[1] && encodeURIComponent(bare) === bare : encodeURIComponent(name) === name;
  if (!urlSafe) problems.push("a package name can only contain URL-friendly characters (letters, digits, - . _ ~, and one @scope/ prefix)");
  if (RESERVED_NAMES.has(name.toLowerCase())) problems.push(`"${name}" is reserved by npm`);
  if (builtinModules.includes(name.toLowerCase())) problems.push(`"${name}" is the name of a Node.js core module`);
  return [...new Set(problems)];
}

/** A valid package name made from a folder name (`My App` → `my-app`), or undefined when none can be. */
export function suggestPackageName(folderName: string): string | undefined {
  const candidate = folderName
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[-]+$/g, "")
    .slice(0, MAX_LENGTH);
  return candidate && packageNameProblems(candidate).length === 0 ? candidate : undefined;
}
