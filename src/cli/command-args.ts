/** One way for a command to read its options: node's parseArgs, strict, with a refusal that says where the options are listed. */
import { parseArgs } from "node:util";
import type { ParseArgsConfig } from "node:util";
import { AppError } from "../common/errors.js";

/** Parses `config.args` for `flash <command>`; an unknown or malformed option is INVALID_INPUT pointing at `--help`. */
export function parseCommandArgs<const T extends ParseArgsConfig>(
  command: string,
  config: T,
  hint = `Run \`flash ${command} --help\` for the options.`,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ strict: true, ...config });
  } catch (error) {
    // node's messages start with their own code ("TypeError [ERR_PARSE_ARGS_UNKNOWN_OPTION]: …"); the rest is for people.
    throw new AppError("INVALID_INPUT", (error as Error).message.replace(/^.*?: /, ""), { hint });
  }
}
