import { describe, expect, it } from "vitest";
import { redact, registerSecret } from "../../../src/common/redact.js";
import { createMemoryLogger } from "../../../src/common/logger.js";

describe("redaction", () => {
  registerSecret("rpa_SUPERSECRETKEY123");

  it("masks registered secrets, bearer tokens, authorization values and api_key parameters, and keeps the rest of the text", () => {
    expect(redact("key rpa_SUPERSECRETKEY123 used, rpa_SUPERSECRETKEY123 again")).toBe("key *** used, *** again");
    expect(redact('headers {"authorization":"Bearer abcdefghijkl"}')).toBe('headers {"authorization":"Bearer ***"}');
    expect(redact("Authorization: rawkeyvalue123")).toBe("Authorization: ***");
    expect(redact("url ?api_key=zzzzzzzz&x=1")).toBe("url ?api_key=***&x=1");
    expect(redact("nothing secret here")).toBe("nothing secret here");
  });

  it("ignores values too short to be secrets, which would mask ordinary words", () => {
    registerSecret("short");
    expect(redact("a short line")).toBe("a short line");
  });

  it("applies to every line the logger writes, at every level, with prefixes", () => {
    const logger = createMemoryLogger("debug");
    logger.debug("debug rpa_SUPERSECRETKEY123");
    logger.child("w").error("Authorization: Bearer abcdefghijkl\nsecond rpa_SUPERSECRETKEY123");
    expect(logger.lines).toEqual(["debug ***", "[w] Authorization: Bearer ***", "[w] second ***"]);
  });
});
