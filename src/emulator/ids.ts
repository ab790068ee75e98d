/** Identifiers that look like Runpod's: endpoint and worker ids are 14 lowercase alphanumerics. */
import { randomBytes, randomUUID } from "node:crypto";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A random id of `length` lowercase alphanumerics (the shape of Runpod endpoint and pod ids). */
export function createRunpodId(length = 14): string {
  const bytes = randomBytes(length);
  let out = "";
  // 256 % 36 = 4, so the bias is tiny and irrelevant for ids that are only compared for equality.
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

/** True for strings shaped like an endpoint id (used to recognise `{id}.<host>` LB requests). */
export function isRunpodIdShape(value: string): boolean {
  return /^[a-z0-9]{14}$/.test(value);
}

/**
 * A job id: a UUID with a region-like suffix as Runpod returns them (`…-e1`;
 * `e` for emulator), prefixed `sync-` for runsync jobs as in Runpod's docs.
 */
export function createJobId(sync: boolean): string {
  return `${sync ? "sync-" : ""}${randomUUID()}-e1`;
}

/** The per-emulator key workers authenticate with (their RUNPOD_AI_API_KEY). */
export function createWorkerKey(): string {
  return `rpa_emu_${randomBytes(20).toString("hex")}`;
}
