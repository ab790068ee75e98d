/**
 * Where the Runpod clients send their calls and with which key, from the
 * environment. Read when a client is created (never at import), so tests and
 * the emulator can point them elsewhere by setting variables first.
 */
import { AppError } from "../common/errors.js";

export const DEFAULT_API_BASE_URL = "https://api.runpod.io";
export const DEFAULT_ENDPOINT_BASE_URL = "https://api.runpod.ai/v2";

/** Resolved Runpod settings. */
export interface RunpodConfig {
  /** RUNPOD_API_KEY; undefined when unset or blank. */
  apiKey: string | undefined;
  /** RUNPOD_API_BASE_URL without trailing slash; REST v2 paths (`/v2/serverless`) are appended. */
  apiBaseUrl: string;
  /** RUNPOD_ENDPOINT_BASE_URL without trailing slash; `/{endpointId}/run` etc. are appended. */
  endpointBaseUrl: string;
}

/**
 * Resolves {@link RunpodConfig} from environment variables.
 * @throws AppError INVALID_CONFIG naming the variable when a URL is not http(s).
 */
export function resolveRunpodConfig(env: NodeJS.ProcessEnv = process.env): RunpodConfig {
  const apiKey = env.RUNPOD_API_KEY?.trim();
  return {
    apiKey: apiKey ? apiKey : undefined,
    apiBaseUrl: resolveBaseUrl(env, "RUNPOD_API_BASE_URL", DEFAULT_API_BASE_URL),
    endpointBaseUrl: resolveBaseUrl(env, "RUNPOD_ENDPOINT_BASE_URL", DEFAULT_ENDPOINT_BASE_URL),
  };
}

function resolveBaseUrl(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  return normalizeBaseUrl(raw, name);
}

/**
 * Checks that `value` is an absolute http(s) URL and strips trailing slashes,
 * so paths can be appended with a single `/`.
 * @param source what to name in the error (an env var or option name).
 */
export function normalizeBaseUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError("INVALID_CONFIG", `${source} is not a valid URL: "${value}"`, {
      hint: `Set ${source} to an http:// or https:// URL, or unset it to use the default.`,
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AppError("INVALID_CONFIG", `${source} must be an http:// or https:// URL, got "${value}"`, {
      hint: `Set ${source} to an http:// or https:// URL, or unset it to use the default.`,
    });
  }
  if (url.search || url.hash) {
    throw new AppError("INVALID_CONFIG", `${source} must not have a query string or fragment: "${value}"`);
  }
  return value.replace(/\/+$/, "");
}
