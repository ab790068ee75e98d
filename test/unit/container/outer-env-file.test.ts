/** What the dev container gets for a `.env` above the project and for a key `flash login` stored. */
import { describe, expect, it } from "vitest";
import { createDevContainerSpec } from "../../../src/container/dev-container-spec.js";

const base = {
  projectRoot: "/home/me/repo/apps/api",
  image: "flash-dev:0.1.0",
  hostIp: "127.0.0.1",
  hostPort: 8888,
  publicUrl: "http://localhost:8888",
  devArgs: [],
  interactive: false,
  version: "0.1.0",
  owner: { host: "laptop", pid: 42 },
};

describe("the dev container and the host's .env and credentials", () => {
  it("mounts the folder of a .env above the project read-only and tells the server inside where it is", () => {
    const spec = createDevContainerSpec({ ...base, env: {}, outerEnvFile: "/home/me/repo/.env" });
    expect(spec.mounts).toContainEqual({ type: "bind", source: "/home/me/repo", target: "/run/flash-env", readOnly: true });
    expect(spec.env).toMatchObject({ FLASH_ENV_FILE: "/run/flash-env/.env", FLASH_ENV_FILE_HOST: "/home/me/repo/.env" });
  });

  it("mounts nothing more without one, and never forwards the host's own FLASH_ENV_FILE or FLASH_CREDENTIALS_FILE", () => {
    const spec = createDevContainerSpec({ ...base, env: { FLASH_ENV_FILE: "/x/.env", FLASH_CREDENTIALS_FILE: "/x/c.toml", FLASH_API_KEY_SOURCE: "~/.runpod/config.toml on the host", RUNPOD_API_KEY: "rpa_handed_over" } });
    expect(spec.mounts).toHaveLength(3);
    expect(spec.env.FLASH_ENV_FILE).toBeUndefined();
    expect(spec.env.FLASH_CREDENTIALS_FILE).toBeUndefined();
    // A key handed over by the host CLI is run-time environment, with where it came from.
    expect(spec.env).toMatchObject({ RUNPOD_API_KEY: "rpa_handed_over", FLASH_API_KEY_SOURCE: "~/.runpod/config.toml on the host" });
  });
});
