/**
 * A bad project.json never silently becomes a new project id (that would
 * orphan every endpoint the project created): the id is recovered from the
 * file's text, from resources.json, or from the provider's endpoints'
 * markers, and otherwise flash refuses and says what to do. A newer version's
 * file is refused.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProvisioner } from "../../../src/provision/provisioner.js";
import { createResourceCache } from "../../../src/provision/resource-cache.js";
import { loadProjectId } from "../../../src/provision/project-id.js";
import { resolveWorkerRuntime } from "../../../src/provision/endpoint-request.js";
import { LiveServerless } from "../../../src/sdk/index.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { PROJECT, asideFiles, entry } from "./state-fixtures.js";
import { createFakeControlPlane } from "./fake-control-plane.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-state-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("a bad project.json", () => {
  const projectFile = () => join(dir, "project.json");

  it("with its id still legible: recovered from the text, the bad file kept aside", async () => {
    const text = '{\n  "id": "0f8a7c62-1d2e-4b5a-9c3d-7e6f5a4b3c2d",\n  "createdAt": "2025-01-0';
    await writeFile(projectFile(), text);
    const logger = createMemoryLogger();
    expect(await loadProjectId(dir, { logger })).toBe("0f8a7c62-1d2e-4b5a-9c3d-7e6f5a4b3c2d");
    const [aside] = await asideFiles(dir, "project.json");
    expect(await readFile(join(dir, aside!), "utf8")).toBe(text);
    expect(logger.lines.some((l) => l.includes(projectFile()) && l.includes(aside!))).toBe(true);
    expect(await loadProjectId(dir)).toBe("0f8a7c62-1d2e-4b5a-9c3d-7e6f5a4b3c2d");
  });

  it("recovered from the project ids recorded in resources.json", async () => {
    await createResourceCache(dir).put(entry("live-a", "ep-a"));
    await writeFile(projectFile(), "\u0000\u0000\u0000");
    expect(await loadProjectId(dir, { logger: createMemoryLogger() })).toBe(PROJECT);
  });

  it("recovered from the provider's endpoints' markers when they name one project", async () => {
    const controlPlane = createFakeControlPlane();
    const runtime = resolveWorkerRuntime({}, "1.2.3", PROJECT);
    await createProvisioner({ controlPlane, cache: createResourceCache(join(dir, "elsewhere")), backend: "local", runtime, logger: createMemoryLogger() }).ensureEndpoint(
      new LiveServerless({ name: "a" }).toSpec(),
    );
    await writeFile(projectFile(), "");
    expect(await loadProjectId(dir, { logger: createMemoryLogger(), listEndpoints: () => controlPlane.listEndpoints() })).toBe(PROJECT);
  });

  it("refuses, naming the candidates, when the provider's endpoints name several projects; the file stays", async () => {
    const controlPlane = createFakeControlPlane();
    for (const project of [PROJECT, "project-bbbb-2222"]) {
      const runtime = resolveWorkerRuntime({}, "1.2.3", project);
      await createProvisioner({ controlPlane, cache: createResourceCache(join(dir, project)), backend: "local", runtime, logger: createMemoryLogger() }).ensureEndpoint(
        new LiveServerless({ name: "a" }).toSpec(),
      );
    }
    await writeFile(projectFile(), "{");
    const loading = loadProjectId(dir, { listEndpoints: () => controlPlane.listEndpoints() });
    await expect(loading).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/project\.json/) });
    await expect(loading).rejects.toMatchObject({ hint: expect.stringMatching(new RegExp(`${PROJECT}.*project-bbbb-2222|project-bbbb-2222.*${PROJECT}`, "s")) });
    expect(await readFile(projectFile(), "utf8")).toBe("{");
    expect(await asideFiles(dir, "project.json")).toEqual([]);
  });

  it("refuses with what to do when nothing tells its id, and never mints a new one", async () => {
    await writeFile(projectFile(), "not json at all");
    const refusal = { code: "CONFLICT", hint: expect.stringMatching(/FLASH_PROJECT_ID/) };
    await expect(loadProjectId(dir, { listEndpoints: async () => [] })).rejects.toMatchObject(refusal);
    // Again on the next start: the bad file was not moved away, so no fresh id is minted behind the user's back.
    await expect(loadProjectId(dir)).rejects.toMatchObject(refusal);
    expect(await readFile(projectFile(), "utf8")).toBe("not json at all");
  });

  it("of a newer version is refused, naming both versions", async () => {
    const text = JSON.stringify({ version: 3, id: "0f8a7c62-1d2e-4b5a-9c3d-7e6f5a4b3c2d" });
    await writeFile(projectFile(), text);
    await expect(loadProjectId(dir)).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/version 3.*reads version 1/) });
    expect(await readFile(projectFile(), "utf8")).toBe(text);
  });

  it("is created once when missing, and read back", async () => {
    const id = await loadProjectId(dir);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await loadProjectId(dir)).toBe(id);
    expect(JSON.parse(await readFile(projectFile(), "utf8"))).toMatchObject({ version: 1, id });
  });
});
