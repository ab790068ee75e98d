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

  it("--local wins over a key; --runpod needs one", () => {
    expect(resolveDevOptions({ local: true }, { RUNPOD_API_KEY: "rpa_x" }, "/p").backend).toBe("local");
    expect(() => resolveDevOptions({ runpod: true }, {}, "/p")).toThrow(/--runpod needs RUNPOD_API_KEY/);
    expect(() => resolveDevOptions({ runpod: true, local: true }, { RUNPOD_API_KEY: "k" }, "/p")).toThrow(/cannot be used together/);
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
