/**
 * Vitest global setup of the unit, integration and browser tests: builds src/
 * into a package (source-package.ts) for them to run, and removes it after.
 * package-env.ts hands its path to the code under test.
 */
import type { TestProject } from "vitest/node";
import { buildSourcePackage, removeSourcePackage } from "./source-package.js";

export default async function setup(project: TestProject): Promise<() => void> {
  const root = await buildSourcePackage();
  project.provide("flashTsPackageRoot", root);
  return () => removeSourcePackage(root);
}
