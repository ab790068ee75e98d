/** How every command reads its options (cli/command-args.ts). */
import { describe, expect, it } from "vitest";
import { parseCommandArgs } from "../../../src/cli/command-args.js";
import { hasCode } from "../../../src/common/errors.js";

describe("parseCommandArgs", () => {
  it("reads the options a command declares", () => {
    const { values, positionals } = parseCommandArgs("init", { args: ["dir", "--name", "x"], allowPositionals: true, options: { name: { type: "string" } } });
    expect(values.name).toBe("x");
    expect(positionals).toEqual(["dir"]);
  });

  it("refuses an unknown option with INVALID_INPUT, in people's words, pointing at the command's --help", () => {
    const error = (() => {
      try {
        parseCommandArgs("undeploy", { args: ["--bogus"], options: { all: { type: "boolean" } } });
      } catch (e) {
        return e;
      }
    })();
    expect(hasCode(error, "INVALID_INPUT")).toBe(true);
    expect((error as Error).message).toMatch(/^Unknown option '--bogus'/);
    expect((error as { hint?: string }).hint).toBe("Run `flash undeploy --help` for the options.");
  });
});
