/**
 * The local one-shot mode (docs/worker-protocol.md, "Local one-shot mode"): without a platform to take jobs
 * from, run a single job from `--test-input '<json>'` (wins) or
 * `./test_input.json`, print the result body to stdout and report whether
 * it failed. Progress updates and stream chunks are logged to stderr.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { AppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { JobOutcome, JobRunner } from "./job-runner.js";
import type { WorkerJob } from "./platform-client.js";

export interface OneShotOptions {
  runner: JobRunner;
  /** The job, from loadTestJob(). */
  job: WorkerJob;
  logger: Logger;
  /** Where the result goes (stdout). */
  stdout: (text: string) => void;
  signal: AbortSignal;
}

/** Reads the one-shot job: `--test-input` or `<cwd>/test_input.json`; it must be an object with `input`. */
export async function loadTestJob(testInput: string | undefined, cwd: string): Promise<WorkerJob> {
  let text = testInput;
  let source = "--test-input";
  if (text === undefined) {
    source = join(cwd, "test_input.json");
    try {
      text = await readFile(source, "utf8");
    } catch {
      throw new AppError("INVALID_INPUT", "no job to run: RUNPOD_WEBHOOK_GET_JOB and PORT are not set, and there is no --test-input or ./test_input.json", {
        hint: `Pass --test-input '{"input": {…}}' or create test_input.json to run one job locally.`,
      });
    }
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new AppError("INVALID_JSON", `${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data) || !("input" in data)) {
    throw new AppError("INVALID_INPUT", `${source} must be a JSON object with an "input" key`, { hint: `e.g. {"input": {"prompt": "hello"}}` });
  }
  const job = data as Record<string, unknown>;
  return { ...job, id: typeof job.id === "string" && job.id ? job.id : "local_test", input: job.input };
}

/** Runs one job and prints its result body. Resolves to the outcome. */
export async function runOneShot(options: OneShotOptions): Promise<JobOutcome> {
  const { runner, logger, job } = options;
  logger.info(`running job ${job.id} locally`);
  let outcome: JobOutcome;
  try {
    outcome = await runner.run(job, {
      signal: options.signal,
      progress: async (output) => logger.info(`progress: ${JSON.stringify(output)}`),
      stream: async (output) => logger.info(`stream: ${JSON.stringify(output)}`),
    });
  } catch (error) {
    outcome = { body: { error: error instanceof Error ? error.message : String(error) }, isStream: false, failed: true };
  }
  let text: string;
  try {
    text = JSON.stringify(outcome.body);
  } catch (error) {
    outcome = { body: { error: `the result cannot be sent as JSON: ${(error as Error).message}` }, isStream: false, failed: true };
    text = JSON.stringify(outcome.body);
  }
  options.stdout(text + "\n");
  logger.info(outcome.failed ? `job ${job.id} failed` : `job ${job.id} completed`);
  return outcome;
}
