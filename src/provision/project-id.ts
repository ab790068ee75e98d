/**
 * A project's identity: a random id kept in `.runpod/project.json`, created on
 * first use. It is stamped on every endpoint the project creates, so a lost
 * cache can be rebuilt from the provider's list without adopting someone
 * else's endpoints. It lives in `.runpod/` (not derived from the path) so the
 * host and the dev container, which see different paths, agree on it.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../shared/atomic-write.js";
import { withLock } from "../shared/lock.js";

export async function loadProjectId(stateDir: string): Promise<string> {
  const path = join(stateDir, "project.json");
  const read = async (): Promise<string | undefined> => {
    try {
      const data = JSON.parse(await readFile(path, "utf8")) as { id?: unknown };
      return typeof data.id === "string" && /^[A-Za-z0-9-]{8,64}$/.test(data.id) ? data.id : undefined;
    } catch {
      return undefined;
    }
  };
  const existing = await read();
  if (existing) return existing;
  return withLock(`${path}.lock`, async () => {
    const again = await read();
    if (again) return again;
    const id = randomUUID();
    await writeFileAtomic(path, JSON.stringify({ id, createdAt: new Date().toISOString() }, null, 2) + "\n");
    return id;
  });
}
