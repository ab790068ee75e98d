/**
 * Turns build failures and load failures of one candidate into
 * DiscoveryIssues with the file and line the user has to fix.
 */
import type { BuildProblem } from "./bundle-modules.js";
import type { ExternalImport } from "./dependencies.js";
import type { DiscoveryIssue } from "./manifest.js";
import type { LoadError } from "./read-exports-protocol.js";
import { locateInStack, toProjectStack } from "./stack-paths.js";

/** One FUNCTION_LOAD_FAILED per esbuild error. */
export function buildIssues(entry: string, problems: readonly BuildProblem[]): DiscoveryIssue[] {
  return problems.map((problem) => {
    const issue: DiscoveryIssue = {
      code: "FUNCTION_LOAD_FAILED",
      severity: "error",
      file: problem.file,
      message: `${entry} did not build: ${problem.message}`,
    };
    if (problem.line !== undefined) issue.line = problem.line;
    if (problem.column !== undefined) issue.column = problem.column;
    if (problem.file !== entry) issue.related = [entry];
    if (/^Could not resolve "\.{1,2}\//.test(problem.message)) {
      issue.hint = "Check the relative import path; the file must exist (the extension may be omitted or written as .js).";
    }
    return issue;
  });
}

function missingPackageHint(error: LoadError, externals: readonly ExternalImport[], installed: (name: string) => string | undefined): string | undefined {
  if (error.code !== "ERR_MODULE_NOT_FOUND") return undefined;
  const match = /Cannot find package '([^']+)'/.exec(error.message);
  const name = match?.[1] ?? externals.find((e) => !e.dynamicOnly && installed(e.name) === undefined)?.name;
  if (!name) return undefined;
  return (
    `"${name}" is imported at the top level but is not installed in the project. Install it (npm install ${name}), ` +
    `or, if only the worker needs it, import it inside the function body with import("${name}") and list it in the function's dependencies.`
  );
}

/**
 * A load error (thrown while the bundle was imported): INVALID_CONFIG when
 * the SDK rejected a config, FUNCTION_LOAD_FAILED otherwise; located at the
 * first stack frame in a project file.
 */
export function loadIssue(
  entry: string,
  error: LoadError,
  context: { bundleDir: string; externals: readonly ExternalImport[]; installed: (name: string) => string | undefined },
): DiscoveryIssue {
  const location = locateInStack(error.stack, context.bundleDir);
  const prefix = error.name && error.name !== "Error" && error.name !== "AppError" ? `${error.name}: ` : "";
  const issue: DiscoveryIssue = {
    code: error.code === "INVALID_CONFIG" ? "INVALID_CONFIG" : "FUNCTION_LOAD_FAILED",
    severity: "error",
    file: location?.file ?? entry,
    message: `${entry} failed to load: ${prefix}${error.message}`,
  };
  if (location) {
    issue.line = location.line;
    issue.column = location.column;
  }
  if (issue.file !== entry) issue.related = [entry];
  const hint = error.hint ?? missingPackageHint(error, context.externals, context.installed);
  if (hint) issue.hint = hint;
  if (error.stack) issue.stack = toProjectStack(error.stack, context.bundleDir);
  return issue;
}

/** Warnings about a module that loaded. */
export function moduleWarnings(entry: string, untagged: number, missing: readonly ExternalImport[]): DiscoveryIssue[] {
  const issues: DiscoveryIssue[] = [];
  if (untagged > 0) {
    issues.push({
      code: "UNEXPORTED_REMOTE",
      severity: "warning",
      file: entry,
      message: `${entry} creates ${untagged} remote function${untagged === 1 ? "" : "s"} that ${untagged === 1 ? "is" : "are"} not exported, so ${untagged === 1 ? "it has" : "they have"} no route`,
      hint: "Export each remote function (export const fn = remote(...)); flash-ts names functions by their file and export.",
    });
  }
  for (const dep of missing) {
    issues.push({
      code: "DEPENDENCY_NOT_INSTALLED",
      severity: "warning",
      file: entry,
      message: `${entry} imports "${dep.name}", which is neither installed in the project nor listed in a remote function's dependencies; the worker will not find it`,
      hint: `Add "${dep.name}" to the dependencies option of the remote function that imports it, or install it in the project.`,
    });
  }
  return issues;
}
