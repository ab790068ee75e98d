/**
 * The emulator's state on disk (`<stateDir>/emulator-state.json`): endpoints,
 * so their ids stay valid across restarts. Written atomically (temp file in
 * the same folder, then rename) and serialised: a write requested while one
 * is running is coalesced into one more write of the latest state. A file
 * that cannot be read is reported and moved aside, never fatal.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../shared/logger.js";
import { isRecord } from "../shared/is-record.js";

/** File name of the state inside the state dir. */
export const STATE_FILE_NAME = "emulator-state.json";
const FORMAT = "flash-ts-emulator-state";

/** What the state file holds. */
export interface StateFileContent {
  endpoints: unknown[];
}

/** Reads the state file; undefined when there is none. Bad files are logged and renamed to `*.bad-<time>`. */
export async function loadStateFile(stateDir: string, logger: Logger): Promise<StateFileContent | undefined> {
  const path = join(stateDir, STATE_FILE_NAME);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    logger.error(`Cannot read emulator state ${path}: ${(error as Error).message}; starting with no endpoints`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    await setAside(path, `not valid JSON (${(error as Error).message})`, logger);
    return undefined;
  }
  if (!isRecord(parsed) || parsed.format !== FORMAT || !Array.isArray(parsed.endpoints)) {
    await setAside(path, "not an emulator state file", logger);
    return undefined;
  }
  return { endpoints: parsed.endpoints };
}

async function setAside(path: string, reason: string, logger: Logger): Promise<void> {
  // Keep the bad file for inspection instead of overwriting it with the next save.
  const aside = `${path}.bad-${Date.now()}`;
  try {
    await rename(path, aside);
    logger.error(`Emulator state ${path} is ${reason}; moved it to ${aside} and started with no endpoints`);
  } catch (error) {
    logger.error(`Emulator state ${path} is ${reason} and could not be moved aside (${(error as Error).message}); starting with no endpoints`);
  }
}

/** Serialised, coalescing, atomic writer of the state file. */
export class StateFileWriter {
  private running: Promise<void> | undefined;
  private pending = false;

  constructor(
    private readonly stateDir: string,
    private readonly snapshot: () => StateFileContent,
    private readonly logger: Logger,
  ) {}

  /** Asks for the current state to be written soon. */
  save(): void {
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves once every requested write has reached the disk (or failed and been logged). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.pending = false;
      try {
        await writeAtomic(join(this.stateDir, STATE_FILE_NAME), JSON.stringify({ format: FORMAT, version: 1, ...this.snapshot() }, null, 2) + "\n");
      } catch (error) {
        this.logger.error(`Cannot save emulator state in ${this.stateDir}: ${(error as Error).message}`);
      }
    } while (this.pending);
  }
}

async function writeAtomic(path: string, data: string): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
