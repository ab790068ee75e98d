import { describe, expect, it, vi } from "vitest";
import { AppError } from "../../../src/common/errors.js";
import { DEFAULT_API_BASE_URL, DEFAULT_ENDPOINT_BASE_URL, normalizeBaseUrl, resolveRunpodConfig } from "../../../src/runpod/config.js";

describe("resolveRunpodConfig", () => {
  it("uses Runpod's defaults when nothing is set", () => {
    expect(resolveRunpodConfig({})).toEqual({
      apiKey: undefined,
      apiBaseUrl: "https://api.runpod.io",
      endpointBaseUrl: "https://api.runpod.ai/v2",
    });
    expect(DEFAULT_API_BASE_URL).toBe("https://api.runpod.io");
    expect(DEFAULT_ENDPOINT_BASE_URL).toBe("https://api.runpod.ai/v2");
  });

  it("reads the three variables and strips trailing slashes", () => {
    const config = resolveRunpodConfig({
      RUNPOD_API_KEY: "rpa_key",
      RUNPOD_API_BASE_URL: "http://127.0.0.1:8080/",
      RUNPOD_ENDPOINT_BASE_URL: "http://127.0.0.1:8080/v2///",
    });
    expect(config).toEqual({ apiKey: "rpa_key", apiBaseUrl: "http://127.0.0.1:8080", endpointBaseUrl: "http://127.0.0.1:8080/v2" });
  });

  it("treats blank values as unset", () => {
    expect(resolveRunpodConfig({ RUNPOD_API_KEY: "  ", RUNPOD_API_BASE_URL: "", RUNPOD_ENDPOINT_BASE_URL: " " })).toEqual({
      apiKey: undefined,
      apiBaseUrl: DEFAULT_API_BASE_URL,
      endpointBaseUrl: DEFAULT_ENDPOINT_BASE_URL,
    });
  });

  it("reads process.env by default, at call time", () => {
    vi.stubEnv("RUNPOD_ENDPOINT_BASE_URL", "http://localhost:9999/v2");
    expect(resolveRunpodConfig().endpointBaseUrl).toBe("http://localhost:9999/v2");
  });

  it.each([
    ["RUNPOD_API_BASE_URL", "api.runpod.io"],
    ["RUNPOD_API_BASE_URL", "ftp://api.runpod.io"],
    ["RUNPOD_ENDPOINT_BASE_URL", "ws://127.0.0.1:1/v2"],
    ["RUNPOD_ENDPOINT_BASE_URL", "http://host/v2?x=1"],
  ])("rejects %s=%s with INVALID_CONFIG naming the variable", (name, value) => {
    let error: unknown;
    try {
      resolveRunpodConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "INVALID_CONFIG" });
    expect((error as Error).message).toContain(name);
  });
});

describe("normalizeBaseUrl", () => {
  it("keeps paths and strips only trailing slashes", () => {
    expect(normalizeBaseUrl("https://example.com/a/b/", "X")).toBe("https://example.com/a/b");
    expect(normalizeBaseUrl("https://example.com", "X")).toBe("https://example.com");
  });
});
