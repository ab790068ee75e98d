import { mkdir, mkdtemp, readFile, rm, stat, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkApiKey,
  credentialsPath,
  displayPath,
  readApiKeyFromToml,
  resolveApiKey,
  saveApiKey,
  writeApiKeyToToml,
} from "../../../src/runpod/credentials.js";
import { hasCode } from "../../../src/common/errors.js";

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "flash-home-"));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("the credentials file (~/.runpod/config.toml)", () => {
  it("is ~/.runpod/config.toml under HOME, or FLASH_CREDENTIALS_FILE", () => {
    expect(credentialsPath({ HOME: home })).toBe(join(home, ".runpod", "config.toml"));
    expect(credentialsPath({ HOME: home, FLASH_CREDENTIALS_FILE: "/x/creds.toml" })).toBe("/x/creds.toml");
    expect(displayPath(join(home, ".runpod", "config.toml"), { HOME: home })).toBe("~/.runpod/config.toml");
  });

  it("reads api_key of [default] as runpod-python writes it, and other spellings of TOML strings", () => {
    expect(readApiKeyFromToml('[default]\napi_key = "rpa_ABC123"\n')).toEqual({ apiKey: "rpa_ABC123" });
    expect(readApiKeyFromToml("# mine\n[other]\napi_key = 'rpa_NO'\n\n[ default ] # comment\napi_key='rpa_LIT' # trailing\n")).toEqual({ apiKey: "rpa_LIT" });
    expect(readApiKeyFromToml('["default"]\n"api_key" = "rpa_\\u0041"\n')).toEqual({ apiKey: "rpa_A" });
    expect(readApiKeyFromToml('api_key = "top-level"\n')).toEqual({ problem: "it has no [default] profile" });
    expect(readApiKeyFromToml("[default]\nregion = 'eu'\n")).toEqual({ problem: "its [default] profile has no api_key" });
    expect(readApiKeyFromToml('[default]\napi_key = "unterminated\n').problem).toMatch(/not valid TOML \(line 2\)/);
  });

  it("writes only the api_key line of [default], keeping other profiles and settings", () => {
    expect(writeApiKeyToToml("", "rpa_NEW")).toBe('[default]\napi_key = "rpa_NEW"\n');
    const other = "[work]\napi_key = \"rpa_WORK\"\n";
    const added = writeApiKeyToToml(other, "rpa_NEW");
    expect(readApiKeyFromToml(added)).toEqual({ apiKey: "rpa_NEW" });
    expect(readApiKeyFromToml(added, "work")).toEqual({ apiKey: "rpa_WORK" });
    const replaced = writeApiKeyToToml('[default]\n# note\napi_key = "rpa_OLD"\nregion = "eu"\n[work]\napi_key = "rpa_WORK"\n', "rpa_NEW");
    expect(replaced).toBe('[default]\n# note\napi_key = "rpa_NEW"\nregion = "eu"\n[work]\napi_key = "rpa_WORK"\n');
    const inserted = writeApiKeyToToml('[default]\nregion = "eu"\n', "rpa_NEW");
    expect(readApiKeyFromToml(inserted)).toEqual({ apiKey: "rpa_NEW" });
    expect(inserted).toContain('region = "eu"');
  });

  it("refuses keys that cannot be keys before anything is written", () => {
    expect(checkApiKey("  rpa_OK123\n")).toBe("rpa_OK123");
    for (const bad of ["", "   ", "two words", 'rpa_"quoted"', "rpa\\x", "x".repeat(600)]) {
      expect(() => checkApiKey(bad)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    }
  });

  it("saves with mode 0600 in a 0700 folder (narrowing a wider one) and reads it back", async () => {
    const env = { HOME: home };
    await mkdir(join(home, ".runpod"), { mode: 0o755 });
    await chmod(join(home, ".runpod"), 0o755);
    await writeFile(join(home, ".runpod", "config.toml"), '[work]\napi_key = "rpa_WORK"\n', { mode: 0o644 });
    const path = await saveApiKey("rpa_SAVED_0001\n", env);
    expect(path).toBe(join(home, ".runpod", "config.toml"));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, ".runpod"))).mode & 0o777).toBe(0o700);
    const text = await readFile(path, "utf8");
    expect(readApiKeyFromToml(text)).toEqual({ apiKey: "rpa_SAVED_0001" });
    expect(readApiKeyFromToml(text, "work")).toEqual({ apiKey: "rpa_WORK" });
  });

  it("creates the folder 0700 when there is none", async () => {
    const env = { HOME: join(home, "fresh") };
    const path = await saveApiKey("rpa_FRESH_0001", env);
    expect((await stat(join(home, "fresh", ".runpod"))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("resolves RUNPOD_API_KEY first, then the file, and says why there is none", async () => {
    const env: NodeJS.ProcessEnv = { HOME: home };
    expect(await resolveApiKey(env)).toMatchObject({ apiKey: undefined, source: "none" });
    await mkdir(join(home, ".runpod"));
    await writeFile(join(home, ".runpod", "config.toml"), "[default]\n");
    expect(await resolveApiKey(env)).toMatchObject({ source: "none", problem: "its [default] profile has no api_key" });
    await saveApiKey("rpa_FILE_0001", env);
    expect(await resolveApiKey(env)).toMatchObject({ apiKey: "rpa_FILE_0001", source: "credentials" });
    expect(await resolveApiKey({ ...env, RUNPOD_API_KEY: " rpa_ENV_0001 " })).toMatchObject({ apiKey: "rpa_ENV_0001", source: "env" });
    expect(await resolveApiKey({ ...env, RUNPOD_API_KEY: "  " })).toMatchObject({ apiKey: "rpa_FILE_0001", source: "credentials" });
  });

  it("a credentials path that is a folder is a problem, not a crash", async () => {
    await mkdir(join(home, ".runpod", "config.toml"), { recursive: true });
    const resolved = await resolveApiKey({ HOME: home });
    expect(resolved.source).toBe("none");
    expect(resolved.problem).toMatch(/cannot be read/);
    const failure = await saveApiKey("rpa_X_00000001", { HOME: home }).catch((e: unknown) => e);
    expect(hasCode(failure, "INVALID_CONFIG")).toBe(true);
  });
});
