import { describe, expect, it } from "vitest";
import { resolveDevOptions } from "../../../src/dev/dev-options.js";
import { parseDevArgs } from "../../../src/cli/commands/dev.js";

describe("flash dev options", () => {
  it("defaults: localhost:8888, reload on, local without a key, runpod with one", () => {
    expect(resolveDevOptions({}, {}, "/p")).toMatchObject({ host: "localhost", port: 8888, portExplicit: false, reload: true, backend: "local", autoProvision: false, cleanup: false, inContainer: false });
    expect(resolveDevOptions({}, { RUNPOD_API_KEY: "rpa_x" }, "/p").backend).toBe("runpod");
    expect(resolveDevOptions({}, { RUNPOD_API_KEY: "   " }, "/p").backend).toBe("local");
  });

  it("the flag beats the env var, the env var beats the default", () => {
    const env = { FLASH_HOST: "0.0.0.0", FLASH_PORT: "9000" };
    expect(resolveDevOptions({}, env, "/p")).toMatchObject({ host: "0.0.0.0", port: 9000, portExplicit: true });
    expect(resolveDevOptions({ host: "127.0.0.1", port: "7000" }, env, "/p")).toMatchObject({ host: "127.0.0.1", port: 7000 });
  });

  it("--inspect: 127.0.0.1 only, 16 ports from 9229 or the one given, on the local emulator whatever key there is", () => {
    expect(resolveDevOptions({ inspect: "" }, { RUNPOD_API_KEY: "rpa_x" }, "/p")).toMatchObject({ backend: "local", backendReason: "--inspect", inspect: { host: "127.0.0.1", port: 9229, count: 16 } });
    expect(resolveDevOptions({ inspect: "9300" }, {}, "/p").inspect).toEqual({ host: "127.0.0.1", port: 9300, count: 16 });
    expect(resolveDevOptions({ inspect: "127.0.0.1:9300" }, {}, "/p").inspect?.port).toBe(9300);
    expect(resolveDevOptions({ inspect: "localhost:9300" }, {}, "/p").inspect?.port).toBe(9300);
    expect(resolveDevOptions({}, {}, "/p").inspect).toBeUndefined();
    expect(() => resolveDevOptions({ inspect: "0.0.0.0:9229" }, {}, "/p")).toThrow(/takes a port/);
    expect(() => resolveDevOptions({ inspect: "nine" }, {}, "/p")).toThrow(/takes a port/);
    expect(() => resolveDevOptions({ inspect: "65530" }, {}, "/p")).toThrow(/from 1024 to 65520/);
    expect(() => resolveDevOptions({ inspect: "80" }, {}, "/p")).toThrow(/from 1024/);
    expect(() => resolveDevOptions({ inspect: "", runpod: true }, { RUNPOD_API_KEY: "k" }, "/p")).toThrow(/--inspect and --runpod cannot be used together/);
    expect(parseDevArgs(["--inspect"]).flags.inspect).toBe("");
    expect(parseDevArgs(["--inspect=9300", "--local"]).flags).toEqual({ inspect: "9300", local: true });
  });

  it("--local wins over a key; --runpod needs one", () => {
    expect(resolveDevOptions({ local: true }, { RUNPOD_API_KEY: "rpa_x" }, "/p").backend).toBe("local");
    expect(() => resolveDevOptions({ runpod: true }, {}, "/p")).toThrow(/--runpod needs RUNPOD_API_KEY/);
    expect(() => resolveDevOptions({ runpod: true, local: true }, { RUNPOD_API_KEY: "k" }, "/p")).toThrow(/cannot be used together/);
  });

  it("says why it chose the backend: the key's source, or why there is none", () => {
    const path = "/home/me/.runpod/config.toml";
    const env = { HOME: "/home/me" };
    const none = { key: { apiKey: undefined, source: "none" as const, path } };
    const stored = { key: { apiKey: "rpa_file", source: "credentials" as const, path } };
    expect(resolveDevOptions({}, env, "/p", none)).toMatchObject({ backend: "local", backendReason: "no RUNPOD_API_KEY and no credentials in ~/.runpod/config.toml" });
    expect(resolveDevOptions({}, env, "/p", { key: { ...none.key, problem: "it has no [default] profile" } }).backendReason).toBe(
      "no RUNPOD_API_KEY and no credentials in ~/.runpod/config.toml (~/.runpod/config.toml: it has no [default] profile)",
    );
    expect(resolveDevOptions({}, env, "/p", stored)).toMatchObject({ backend: "runpod", backendReason: "key from ~/.runpod/config.toml (RUNPOD_API_KEY is not set)" });
    expect(resolveDevOptions({ runpod: true }, env, "/p", stored).backendReason).toBe("--runpod, key from ~/.runpod/config.toml (RUNPOD_API_KEY is not set)");
    expect(resolveDevOptions({ local: true }, env, "/p", stored)).toMatchObject({ backend: "local", backendReason: "--local" });
    const fromEnv = { key: { apiKey: "rpa_env", source: "env" as const, path } };
    expect(resolveDevOptions({}, { ...env, RUNPOD_API_KEY: "rpa_env" }, "/p", fromEnv).backendReason).toBe("RUNPOD_API_KEY is set");
    expect(resolveDevOptions({}, { ...env, RUNPOD_API_KEY: "rpa_env" }, "/p", { ...fromEnv, envFile: "/home/me/repo/.env" }).backendReason).toBe("RUNPOD_API_KEY from ~/repo/.env");
    // In the dev container, the host said where the key it handed over came from.
    expect(resolveDevOptions({}, { RUNPOD_API_KEY: "rpa_x", FLASH_API_KEY_SOURCE: "~/.runpod/config.toml on the host" }, "/p").backendReason).toBe("key from ~/.runpod/config.toml on the host");
    expect(() => resolveDevOptions({ runpod: true }, env, "/p", none)).toThrow(/--runpod needs RUNPOD_API_KEY: no RUNPOD_API_KEY and no credentials/);
  });

  it("inside the dev container it binds 0.0.0.0", () => {
    expect(resolveDevOptions({}, { FLASH_IN_CONTAINER: "1" }, "/p")).toMatchObject({ host: "0.0.0.0", inContainer: true });
  });

  it.each([
    [{ port: "http" }, {}, /--port must be a port number/],
    [{ port: "70000" }, {}, /--port must be from 1 to 65535/],
    [{}, { FLASH_PORT: "-1" }, /FLASH_PORT must be a port number/],
    [{ host: "bad host!" }, {}, /--host is not a host name/],
  ])("rejects bad values %#", (flags, env, message) => {
    expect(() => resolveDevOptions(flags, env, "/p")).toThrow(message);
  });

  it("parses flags, including -p, --no-reload and --no-container, and knows what to forward into the container", () => {
    const parsed = parseDevArgs(["-p", "9001", "--no-reload", "--local", "--auto-provision", "--yes", "--no-container", "--host", "0.0.0.0"]);
    expect(parsed.flags).toEqual({ port: "9001", reload: false, local: true, autoProvision: true, yes: true, host: "0.0.0.0" });
    expect(parsed.container).toBe(false);
    expect(parsed.forward).toEqual(["--no-reload", "--local", "--auto-provision", "--yes"]);
    expect(() => parseDevArgs(["--frobnicate"])).toThrow(/Unknown option/i);
  });
});
