import { describe, expect, it } from "vitest";
import { isLocalHostname } from "../../../src/emulator/request-guard.js";

describe("isLocalHostname", () => {
  it("accepts the names that always mean this machine", () => {
    for (const name of ["localhost", "LOCALHOST", "localhost.", "abcdefghijklmn.localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"]) {
      expect(isLocalHostname(name), name).toBe(true);
    }
  });

  it("refuses everything else, including names that only look local", () => {
    for (const name of ["", "example.com", "localhost.example.com", "evil-localhost", "0.0.0.0", "10.0.0.1", "127.0.0.1.nip.io", "[::]", "[::2]", "128.0.0.1"]) {
      expect(isLocalHostname(name), name).toBe(false);
    }
  });
});
