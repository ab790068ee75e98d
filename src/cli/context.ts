/** What every command receives: streams, environment and a logger, so commands can run in-process in tests. */
import type { Logger } from "../common/logger.js";

export interface CommandContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Human output (stderr). */
  stderr: (text: string) => void;
  /** Results (stdout). */
  stdout: (text: string) => void;
  /** Resolves when the user asks the process to stop (SIGINT/SIGTERM); `force` is true on the second request. */
  onShutdown: (handler: (signal: NodeJS.Signals, force: boolean) => void) => void;
  isInteractive: boolean;
}

/** A command maps argv to options, calls the programmatic core and returns an exit code. */
export type Command = (argv: string[], ctx: CommandContext) => Promise<number>;
