/**
 * Vitest setup file (runs in each test worker before its test file): names
 * the package chosen by the project's global setup in FLASH_TS_PACKAGE_ROOT,
 * where src/common/package-info.ts looks for it when run from source. Child
 * processes inherit it, and it is harmless to them: compiled code finds its
 * own package.
 */
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** Root of the flash-ts package the tests run (test/helpers/source-package.ts). */
    flashTsPackageRoot: string;
  }
}

// Not imported from package-info.ts: importing it before this line is what would fail.
process.env.FLASH_TS_PACKAGE_ROOT = inject("flashTsPackageRoot");
