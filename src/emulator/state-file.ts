/**
 * The emulator's state on disk (`<stateDir>/emulator-state.json`): endpoints,
 * so their ids stay valid across restarts. Written atomically (temp file in
 * the same folder, then rename) and serialised: a write requested while one
 * is running is coalesced into one more write of the latest state. A file
 * that cannot be read is reported and moved aside, never fatal.
 *
 * Endpoints carry their `env`, which holds secrets (in `flash dev --runpod`
 * against an emulator, the account's API key), so the file is the owner's
 * only: mode 0600 in a 0700 folder. Both are narrowed at start when an older
 * version or the user left them wider, and every write creates the file 0600.
 */
import { chmod, mkdir, readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../common/atomic-write.js";
import type { Logger } from "../common/logger.js";
import { isRecord } from "../common/is-record.js";

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
  await makePrivate(stateDir, logger);
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

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** Creates the state folder 0700, and narrows it and an existing state file when others can read them. */
async function makePrivate(stateDir: string, logger: Logger): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: PRIVATE_DIR });
  const narrow = async (path: string, mode: number): Promise<void> => {
    const info = await stat(path).catch(() => undefined);
    if (!info || (info.mode & 0o777 & ~mode) === 0) return;
    await chmod(path, mode);
    logger.warn(`${path} was readable by other users (mode ${(info.mode & 0o777).toString(8)}); changed it to ${mode.toString(8)}: it holds endpoints' environment variables`);
  };
  await narrow(stateDir, PRIVATE_DIR);
  await narrow(join(stateDir, STATE_FILE_NAME), PRIVATE_FILE);
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
        await makePrivate(this.stateDir, this.logger);
        await writeFileAtomic(join(this.stateDir, STATE_FILE_NAME), JSON.stringify({ format: FORMAT, version: 1, ...this.snapshot() }, null, 2) + "\n", PRIVATE_FILE);
      } catch (error) {
        this.logger.error(`Cannot save emulator state in ${this.stateDir}: ${(error as Error).message}`);
      }
    } while (this.pending);
  }
}
