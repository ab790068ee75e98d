/**
 * A memory budget counted in bytes: how much request-body or job data a
 * server may hold at once. What does not fit is refused by the caller (429 or
 * 503 with Retry-After) instead of growing the heap until the process dies
 * (docs/internals.md, Memory bounds).
 */
import { AppError } from "./errors.js";

/**
 * A part of a budget taken for one thing (a body being read); it can grow
 * (past the limit only while nothing else is held), and is given back once.
 */
export interface BudgetReservation {
  /** Bytes held now. */
  readonly bytes: number;
  /** Takes `more` bytes too; false (nothing taken) when they do not fit. */
  grow(more: number): boolean;
  /** Gives everything back; later calls do nothing. */
  release(): void;
}

/** Bytes held against a fixed limit. */
export class ByteBudget {
  #used = 0;

  /** @param limitBytes the most held at once (a positive number). */
  constructor(readonly limitBytes: number) {
    if (!(limitBytes > 0) || !Number.isFinite(limitBytes)) throw new RangeError(`a byte budget needs a positive limit (got ${limitBytes})`);
  }

  /** Bytes held now. */
  get usedBytes(): number {
    return this.#used;
  }

  /**
   * True when `bytes` more can be held. Anything fits an empty budget, so one
   * item larger than the whole budget is still served, alone.
   */
  fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.limitBytes;
  }

  /** Takes `bytes` when they fit (see {@link fits}); false and nothing taken otherwise. */
  tryTake(bytes: number): boolean {
    if (!this.fits(bytes)) return false;
    this.#used += bytes;
    return true;
  }

  /** Takes `bytes` whether or not they fit: for data that must be accepted and is bounded elsewhere. */
  take(bytes: number): void {
    this.#used += bytes;
  }

  /** Gives `bytes` back. */
  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }

  /** Reserves `bytes` (0 to start empty and grow); undefined when they do not fit. */
  reserve(bytes: number): BudgetReservation | undefined {
    if (!this.tryTake(bytes)) return undefined;
    let held = bytes;
    let released = false;
    return {
      get bytes() {
        return held;
      },
      // A reservation alone in the budget may grow past it, as one item may be larger than the whole budget.
      grow: (more) => {
        if (released) return false;
        if (this.#used > held && this.#used + more > this.limitBytes) return false;
        this.#used += more;
        held += more;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.give(held);
        held = 0;
      },
    };
  }
}

/** `10 MB`, `512 KB`, `12 bytes` (binary units, as the limits are defined). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

/**
 * A size in megabytes from an environment variable (`FLASH_…_MB=256`), in
 * bytes; `fallbackBytes` when unset or blank.
 * @throws AppError INVALID_CONFIG for anything but a positive number.
 */
export function megabytesFromEnv(env: NodeJS.ProcessEnv, name: string, fallbackBytes: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallbackBytes;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb <= 0) {
    throw new AppError("INVALID_CONFIG", `${name} must be a positive number of megabytes (got ${JSON.stringify(raw)})`, {
      hint: `Unset ${name} for the default of ${formatBytes(fallbackBytes)}, or set e.g. ${name}=256.`,
    });
  }
  return Math.round(mb * 1024 * 1024);
}
