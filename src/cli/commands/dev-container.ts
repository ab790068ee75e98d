/**
 * The host side of `flash dev`: run it in the project's dev container when a
 * Docker engine answers.
 */
import { dirname } from "node:path";
import { resolveContainerMode } from "../../container/container-mode.js";
import { KEY_SOURCE_ENV } from "../../dev/dev-options.js";
import { AppError } from "../../common/errors.js";
import type { ResolvedDevOptions } from "../../dev/dev-options.js";
import type { CommandContext } from "../context.js";

export interface ContainerChoice {
  ctx: CommandContext;
  root: string;
  options: ResolvedDevOptions;
  /** `--container` (true), `--no-container` (false), or neither. */
  flag: boolean | undefined;
  image: string | undefined;
  /** Flags for the `flash dev` inside. */
  forward: string[];
  /** Keys that came from the project's .env (the server inside reads .env itself). */
  envFromFile: Iterable<string>;
  /** The .env in use (found upward from the project); one above the project is mounted for the server inside. */
  envFile?: string;
  /** A key the host found that the container's environment would not have (`flash login`'s): handed over at run time. */
  handOverKey?: { apiKey: string; source: string };
}

/**
 * Returns the container's exit code, or undefined when the dev server should
 * run directly (no engine is installed or configured, and none was required).
 */
export async function runInContainerIfAvailable(choice: ContainerChoice): Promise<number | undefined> {
  const { ctx, options } = choice;
  const mode = resolveContainerMode(choice.flag, ctx.env, options.inContainer);
  if (mode === "off") return undefined;
  // dockerode is loaded only when a container may be used.
  const { detectDocker, isLocalEndpoint, runDevContainer } = await import("../../container/index.js");
  const required = mode === "on";
  const detection = await detectDocker(ctx.env);
  if (detection.status === "absent") {
    if (required) {
      throw new AppError("DOCKER_UNAVAILABLE", `--container needs a Docker engine: ${detection.reason}`, {
        hint: "Install and start Docker, or run without --container to serve directly.",
      });
    }
    ctx.logger.info(`No Docker engine here (${detection.reason}); serving directly. Pass --no-container to skip this check.`);
    return undefined;
  }
  if (detection.status === "unreachable") throw detection.error;
  ctx.logger.debug(`Docker ${detection.engine.version} (${detection.engine.os}) at ${detection.endpoint.url} answered`);
  return runDevContainer({
    projectRoot: choice.root,
    host: options.host,
    port: options.port,
    ...(choice.image ? { image: choice.image } : {}),
    devArgs: choice.forward,
    // The key goes in as run-time environment, like RUNPOD_API_KEY from the shell; never into the image.
    env: choice.handOverKey ? { ...ctx.env, RUNPOD_API_KEY: choice.handOverKey.apiKey, [KEY_SOURCE_ENV]: choice.handOverKey.source } : ctx.env,
    envFromFile: choice.envFromFile,
    ...(choice.envFile && dirname(choice.envFile) !== choice.root ? { outerEnvFile: choice.envFile } : {}),
    logger: ctx.logger,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    onShutdown: ctx.onShutdown,
    runtime: detection.runtime,
    engineIsLocal: isLocalEndpoint(detection.endpoint),
  });
}
