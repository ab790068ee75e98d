/**
 * The worker runtime as a caller holds it, to send it to workers: the one-file
 * bundle the build writes to `dist/runtime/worker-runtime.mjs` (the dev
 * server's copy), or the bundle a delivered worker itself runs from (to pass
 * it on to the endpoints it calls). Content-addressed: the sha256 of the text
 * is its identity on both sides (docs/internals.md, "The worker runtime").
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { AppError } from "../common/errors.js";
import { sha256 } from "../common/hash.js";
import { PACKAGE_ROOT, readPackageVersion } from "../common/package-info.js";
import { RuntimeDelivery } from "../calls/runtime-delivery.js";
import type { RuntimeSource } from "../calls/runtime-delivery.js";

const gzipAsync = promisify(gzip);

/** Where the build writes the runtime bundle of this package. */
export const PACKAGED_RUNTIME_FILE = join(PACKAGE_ROOT, "dist", "runtime", "worker-runtime.mjs");

export type { RuntimeSource };

/** Reads a runtime bundle once; the compressed form is made on first use and kept. */
export function loadRuntimeSource(file: string, version: string): RuntimeSource {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (error) {
    throw new AppError("INTERNAL", `the worker runtime bundle ${file} cannot be read: ${(error as Error).message}`, {
      hint: "It is written by `npm run build` (dist/runtime/); reinstall flash-ts or rebuild it.",
      cause: error,
    });
  }
  const hash = sha256(text);
  let compressed: Promise<string> | undefined;
  return {
    version,
    hash,
    size: text.length,
    async ref(withCode) {
      if (!withCode) return { version, hash };
      compressed ??= gzipAsync(text, { level: 9 }).then((b) => b.toString("base64"));
      return { version, hash, gzip: await compressed };
    },
  };
}

/**
 * Delivery of this package's own runtime bundle (a `flash worker` calling
 * endpoints started by the bootstrap); undefined when the package has none
 * (not built), in which case nested calls carry no runtime.
 */
export function packagedRuntimeDelivery(logger: { debug(message: string): void }): RuntimeDelivery | undefined {
  try {
    return new RuntimeDelivery(loadRuntimeSource(PACKAGED_RUNTIME_FILE, readPackageVersion()));
  } catch (error) {
    logger.debug(`nested calls carry no runtime: ${(error as Error).message}`);
    return undefined;
  }
}
