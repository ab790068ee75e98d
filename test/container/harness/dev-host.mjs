// Runs runDevContainer() the way `flash dev` on the host does (signals ->
// onShutdown with `force` on the second, exit code passed through), for tests
// that must not depend on the dev command's wiring. Options come as JSON in
// argv[2]; `command` replaces the inner `flash dev` (a stand-in server).
import { runDevContainer } from "../../../dist/container/index.js";
import { createLogger } from "../../../dist/common/logger.js";

const options = JSON.parse(process.argv[2] ?? "{}");
const handlers = [];
let signals = 0;
const onSignal = (signal) => {
  signals++;
  for (const handler of handlers) handler(signal, signals > 1);
  if (signals > 2) process.exit(130);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

runDevContainer({
  projectRoot: options.projectRoot ?? process.cwd(),
  host: options.host ?? process.env.FLASH_HOST ?? "localhost",
  port: Number(options.port ?? process.env.FLASH_PORT ?? 8888),
  devArgs: options.devArgs ?? [],
  env: process.env,
  logger: createLogger(),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  onShutdown: (handler) => void handlers.push(handler),
  ...(options.command ? { command: options.command } : {}),
  ...(options.image ? { image: options.image } : {}),
  ...(options.user ? { user: options.user } : {}),
}).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`✖ ${error.message}\n${error.hint ? `  ${error.hint}\n` : ""}`);
    process.exit(error.isUserError ? 1 : 2);
  },
);
