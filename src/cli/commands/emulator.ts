/** `flash emulator` (being built). */
import type { Command } from "../context.js";

const command: Command = async (_argv, ctx) => {
  ctx.stderr("flash emulator: not available in this build yet\n");
  return 1;
};
export default command;
