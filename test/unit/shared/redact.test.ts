import { describe, expect, it } from "vitest";
import { redact, registerSecret } from "../../../src/shared/redact.js";
import { createMemoryLogger } from "../../../src/shared/logger.js";

describe("redaction", () => {
  it("masks registered secrets, bearer tokens and authorization values in log lines", () => {
    registerSecret("rpa_SUPERSECRETKEY123");
    const logger = createMemoryLogger();
    logger.info("key rpa_SUPERSECRETKEY123 used");
    logger.info('headers {"authorization":"Bearer abcdefghijkl"}');
    logger.info("Authorization: rawkeyvalue123");
    logger.info("url ?api_key=zzzzzzzz&x=1");
    expect(logger.lines.join("\n")).not.toMatch(/SUPERSECRET|abcdefghijkl|rawkeyvalue123|zzzzzzzz/);
    expect(redact("nothing secret here")).toBe("nothing secret here");
  });
});
