/** Shared pieces of the `.runpod/` state tests: a cache entry and the files kept aside. */
import { readdir } from "node:fs/promises";
import type { CachedEndpoint } from "../../../src/provision/resource-cache.js";

export const PROJECT = "project-aaaa-1111";

/** A valid cache entry of PROJECT on the local backend. */
export const entry = (name: string, id: string): CachedEndpoint => ({
  name,
  id,
  kind: "QB",
  backend: "local",
  configHash: "h",
  createdAt: "2025-01-01T00:00:00.000Z",
  updatedAt: "2025-01-01T00:00:00.000Z",
  projectId: PROJECT,
  workersMin: 0,
});

/** The `<file>.corrupt-<time>` copies kept aside in `dir`. */
export async function asideFiles(dir: string, file: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith(`${file}.corrupt-`));
}
