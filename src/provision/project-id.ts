/**
 * A project's identity: a random id kept in `.runpod/project.json`, created on
 * first use. It is stamped on every endpoint the project creates, so a lost
 * cache can be rebuilt from the provider's list without adopting someone
 * else's endpoints. It lives in `.runpod/` (not derived from the path) so the
 * host and the dev container, which see different paths, agree on it.
 *
 * A new id would orphan every endpoint made under the old one, so a
 * project.json that cannot be read never silently gets a new id
 * (docs/internals.md, "Project state in .runpod"): the id is recovered from
 * the file's text, from the project ids resources.json recorded, or from the
 * markers of the provider's endpoints; the bad file is then kept aside.
 * Otherwise flash refuses, leaving the file where it is, and says what to do.
 */
import { randomUUID } from "node:crypto";
import { readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../common/atomic-write.js";
import { AppError } from "../common/errors.js";
import { isRecord } from "../common/is-record.js";
import { withLock } from "../common/lock.js";
import type { Logger } from "../common/logger.js";
import { nullLogger } from "../common/logger.js";
import type { Endpoint } from "../runpod/wire-types.js";
import { PROJECT_MARKER_ENV } from "./endpoint-request.js";
import { corruptCopyPath, newerStateFileError } from "./resource-cache.js";

export const PROJECT_FILE_VERSION = 1;
const ID_PATTERN = /^[A-Za-z0-9-]{8,64}$/;

export interface LoadProjectIdOptions {
  logger?: Logger;
  /** The provider's endpoints: their markers name the project when project.json cannot. */
  listEndpoints?: () => Promise<Endpoint[]>;
}

type ProjectFile = { kind: "ok"; id: string } | { kind: "missing" } | { kind: "newer"; version: number } | { kind: "bad"; text: string; reason: string };

async function readProjectFile(path: string): Promise<ProjectFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: "bad", text, reason: text.trim() === "" ? "empty" : `not valid JSON (${(error as Error).message})` };
  }
  if (!isRecord(value)) return { kind: "bad", text, reason: "not a JSON object" };
  // Files written before versions existed have none: they are version 1.
  if (typeof value.version === "number" && value.version > PROJECT_FILE_VERSION) return { kind: "newer", version: value.version };
  if (typeof value.id !== "string" || !ID_PATTERN.test(value.id)) return { kind: "bad", text, reason: "without a valid project id" };
  return { kind: "ok", id: value.id };
}

/** Distinct ids, each with where it was seen. */
function tally(pairs: Iterable<[id: string, where: string]>): Map<string, string[]> {
  const ids = new Map<string, string[]>();
  for (const [id, where] of pairs) {
    if (!ID_PATTERN.test(id)) continue;
    const seen = ids.get(id) ?? [];
    if (!seen.includes(where)) seen.push(where);
    ids.set(id, seen);
  }
  return ids;
}

/** The project ids resources.json recorded for its endpoints (it may be unreadable too). */
async function idsFromCache(stateDir: string): Promise<Map<string, string[]>> {
  try {
    const value = JSON.parse(await readFile(join(stateDir, "resources.json"), "utf8")) as unknown;
    const endpoints = isRecord(value) && isRecord(value.endpoints) ? Object.values(value.endpoints) : [];
    return tally(endpoints.flatMap((e) => (isRecord(e) && typeof e.projectId === "string" ? [[e.projectId, String(e.name)] as [string, string]] : [])));
  } catch {
    return new Map();
  }
}

/** Recovers the id of a project whose project.json is bad; throws a refusal that says what to do when it cannot. */
async function recover(path: string, stateDir: string, bad: { text: string; reason: string }, options: LoadProjectIdOptions): Promise<string> {
  const logger = options.logger ?? nullLogger;
  const fromText = /"id"\s*:\s*"([A-Za-z0-9-]{8,64})"/.exec(bad.text)?.[1];
  let id: string | undefined;
  let source = "";
  let candidates = new Map<string, string[]>();
  let providerNote = "";
  if (fromText) {
    id = fromText;
    source = "the file's text";
  } else {
    const fromCache = await idsFromCache(stateDir);
    if (fromCache.size === 1) {
      id = [...fromCache.keys()][0];
      source = "the endpoints recorded in resources.json";
    } else if (options.listEndpoints) {
      try {
        const listed = await options.listEndpoints();
        candidates = tally(listed.flatMap((e) => (e.env?.[PROJECT_MARKER_ENV] ? [[e.env[PROJECT_MARKER_ENV], e.name] as [string, string]] : [])));
        if (candidates.size === 1) {
          id = [...candidates.keys()][0];
          source = `the ${PROJECT_MARKER_ENV} marker of the provider's endpoints`;
        }
      } catch (error) {
        providerNote = ` (the provider's endpoints could not be listed: ${(error as Error).message})`;
      }
    }
    for (const [cached, names] of fromCache) candidates.set(cached, [...(candidates.get(cached) ?? []), ...names]);
  }
  if (id) {
    const aside = corruptCopyPath(path);
    await rename(path, aside);
    await writeFileAtomic(path, JSON.stringify({ version: PROJECT_FILE_VERSION, id, createdAt: new Date().toISOString() }, null, 2) + "\n");
    logger.warn(`${path} was ${bad.reason}; kept it as ${aside} and recovered the project id ${id} from ${source}.`);
    return id;
  }
  const listed = [...candidates].map(([cid, names]) => `  ${cid} (${names.join(", ")})`).join("\n");
  throw new AppError("CONFLICT", `${path} is ${bad.reason}, and this project's id could not be recovered${providerNote}`, {
    hint: [
      `Every endpoint the project created carries its id in its env as ${PROJECT_MARKER_ENV}.`,
      ...(listed ? ["Ids found on endpoints:", listed] : []),
      `Write the right one back as {"version": ${PROJECT_FILE_VERSION}, "id": "<id>"} in ${path}.`,
      `To start afresh instead, delete ${path}: a new id is made, and endpoints made under the old one are no longer recognised as this project's (delete them yourself).`,
    ].join("\n"),
    details: { path },
  });
}

export async function loadProjectId(stateDir: string, options: LoadProjectIdOptions = {}): Promise<string> {
  const path = join(stateDir, "project.json");
  const first = await readProjectFile(path);
  if (first.kind === "ok") return first.id;
  if (first.kind === "newer") throw newerStateFileError(path, first.version, PROJECT_FILE_VERSION, "project file");
  return withLock(`${path}.lock`, async () => {
    const again = await readProjectFile(path);
    if (again.kind === "ok") return again.id;
    if (again.kind === "newer") throw newerStateFileError(path, again.version, PROJECT_FILE_VERSION, "project file");
    if (again.kind === "bad") return recover(path, stateDir, again, options);
    const id = randomUUID();
    await writeFileAtomic(path, JSON.stringify({ version: PROJECT_FILE_VERSION, id, createdAt: new Date().toISOString() }, null, 2) + "\n");
    return id;
  });
}
