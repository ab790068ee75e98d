import { describe, expect, it } from "vitest";
import { isAllowedHost, parseAllowedHosts } from "../../../src/server/host-guard.js";

describe("isAllowedHost", () => {
  it("allows names that cannot be rebound, and the user's list", () => {
    const allowed = parseAllowedHosts(" dev.example.com, .app.github.dev ");
    expect(allowed).toEqual(["dev.example.com", ".app.github.dev"]);
    for (const host of ["localhost", "LOCALHOST", "api.localhost", "127.0.0.1", "10.0.0.7", "[::1]", "dev.example.com", "abc-8888.app.github.dev"]) {
      expect(isAllowedHost(host, allowed), host).toBe(true);
    }
    for (const host of ["example.com", "localhost.attacker.example", "app.github.dev.evil.example"]) {
      expect(isAllowedHost(host, allowed), host).toBe(false);
    }
    expect(isAllowedHost("anything.example", ["*"])).toBe(true);
  });
});
