/**
 * Entry of the delivered worker runtime: the build bundles this file, with
 * everything it imports (undici included), into `dist/runtime/worker-runtime.mjs`,
 * one file with no npm dependencies (docs/internals.md, "The worker runtime").
 * It exports the SDK, because user modules import `flash-ts` from it, and
 * `startFromBootstrap`, which the bootstrap calls once it has loaded it.
 */
import type { BootstrapHandoverV1 } from "./bootstrap/bootstrap.js";
import { startFromBootstrap as start } from "./delivered-runtime.js";

export * from "../sdk/index.js";

/** The flash-ts version this bundle was built from (set by the build; the package's when unbundled). */
export const RUNTIME_VERSION: string = process.env.FLASH_TS_BUNDLED_VERSION ?? "unbundled";

export function startFromBootstrap(handover: BootstrapHandoverV1): Promise<void> {
  return start(handover, RUNTIME_VERSION);
}
