/**
 * Vitest global setup of the container and end-to-end tests: they run the
 * repository's own build (the dev image is made from dist/, `npm pack` ships
 * it), so it must be there and not older than src/ — a stale build fails the
 * run instead of being tested in src/'s place.
 */
import type { TestProject } from "vitest/node";
import { REPO_ROOT } from "./paths.js";
import { staleBuild } from "./source-package.js";

export default function setup(project: TestProject): void {
  const stale = staleBuild();
  if (stale) throw new Error(`the ${project.name} tests run the built package, but ${stale}: run \`npm run build\` (npm test does)`);
  project.provide("flashTsPackageRoot", REPO_ROOT);
}
