import { describe, expect, it } from "vitest";
import { hasCode } from "../../../src/common/errors.js";
import { hostnameOf, isLocalHostname, judgeBrowserRequest, normalizeOrigin, parseAllowedOrigins } from "../../../src/common/local-server-guard.js";

describe("parseAllowedOrigins", () => {
  it("normalises origins and drops duplicates and blanks", () => {
    expect(parseAllowedOrigins(" http://localhost:3000 , HTTPS://App.Example.com/, http://localhost:3000,, https://a.example:443")).toEqual([
      "http://localhost:3000",
      "https://app.example.com",
      "https://a.example",
    ]);
    expect(parseAllowedOrigins(undefined)).toEqual([]);
  });

  it("refuses entries that are not plain http(s) origins, naming the entry", () => {
    for (const bad of ["*", "null", "localhost:3000", "http://localhost:3000/app", "file:///tmp/x.html", "ftp://example.com"]) {
      let thrown: unknown;
      try {
        parseAllowedOrigins(`http://ok.example, ${bad}`);
      } catch (error) {
        thrown = error;
      }
      expect(hasCode(thrown, "INVALID_INPUT"), bad).toBe(true);
      expect((thrown as Error).message).toContain(bad);
    }
  });
});

describe("judgeBrowserRequest", () => {
  const dev = { ownOrigin: "http://localhost:8888", allowedOrigins: ["http://localhost:3000"] };
  const emulator = { allowedOrigins: [] };

  it("passes scripts and typed URLs on both servers", () => {
    for (const policy of [dev, emulator]) {
      expect(judgeBrowserRequest({}, policy).allowed).toBe(true);
      expect(judgeBrowserRequest({ secFetchSite: "none" }, policy).allowed).toBe(true);
    }
  });

  it("the emulator (no own pages, no allowed origins) refuses every other browser request", () => {
    for (const signals of [
      { origin: "http://localhost:8888" },
      { origin: "null" },
      { secFetchSite: "same-origin" },
      { secFetchSite: "same-site" },
      { secFetchSite: "cross-site", referer: "http://localhost:3000/" },
    ]) {
      expect(judgeBrowserRequest(signals, emulator).allowed, JSON.stringify(signals)).toBe(false);
    }
  });

  it("the dev server passes its own origin and allowed origins, with CORS only for the latter", () => {
    expect(judgeBrowserRequest({ origin: "http://LOCALHOST:8888" }, dev)).toEqual({ allowed: true });
    expect(judgeBrowserRequest({ secFetchSite: "same-origin" }, dev)).toEqual({ allowed: true });
    expect(judgeBrowserRequest({ origin: "http://localhost:3000", secFetchSite: "same-site" }, dev)).toEqual({ allowed: true, corsOrigin: "http://localhost:3000" });
    expect(judgeBrowserRequest({ secFetchSite: "same-site", referer: "http://localhost:3000/x?y" }, dev)).toEqual({ allowed: true });
    expect(judgeBrowserRequest({ origin: "http://localhost:8888", secFetchSite: "cross-site" }, dev).allowed).toBe(false);
    expect(judgeBrowserRequest({ secFetchSite: "same-site" }, dev).allowed).toBe(false);
  });

  it("without any label, a Referer from another origin marks a browser (an <img> or a link in a browser without Fetch Metadata)", () => {
    expect(judgeBrowserRequest({ referer: "http://evil.example/page" }, dev).allowed).toBe(false);
    expect(judgeBrowserRequest({ referer: "http://evil.example/page" }, emulator).allowed).toBe(false);
    expect(judgeBrowserRequest({ referer: "http://localhost:8888/docs" }, dev).allowed).toBe(true);
    expect(judgeBrowserRequest({ referer: "http://localhost:3000/app" }, dev).allowed).toBe(true);
    expect(judgeBrowserRequest({ referer: "not a url" }, dev).allowed).toBe(true);
  });
});

describe("host names", () => {
  it("isLocalHostname accepts the names that always mean this machine", () => {
    for (const name of ["localhost", "LOCALHOST", "localhost.", "abcdefghijklmn.localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"]) {
      expect(isLocalHostname(name), name).toBe(true);
    }
    for (const name of ["", "example.com", "localhost.example.com", "evil-localhost", "0.0.0.0", "10.0.0.1", "127.0.0.1.nip.io", "[::]", "[::2]", "128.0.0.1"]) {
      expect(isLocalHostname(name), name).toBe(false);
    }
  });

  it("hostnameOf strips the port, keeping IPv6 brackets", () => {
    expect(hostnameOf("[::1]:8080")).toBe("[::1]");
    expect(hostnameOf("a.localhost:80")).toBe("a.localhost");
    expect(hostnameOf("::1")).toBe("::1");
    expect(normalizeOrigin("null")).toBeUndefined();
  });
});
