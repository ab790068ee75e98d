/** npm's rules for a new package's name, each broken rule named. */
import { describe, expect, it } from "vitest";
import { packageNameProblems, suggestPackageName } from "../../../src/init/package-name.js";

describe("package names", () => {
  it.each(["my-app", "flash.orders", "under_score", "123numeric", "@acme/orders", "@acme/foo.js", "a".repeat(214)])("accepts %s", (name) => {
    expect(packageNameProblems(name)).toEqual([]);
  });

  it.each([
    ["", /cannot be empty/],
    ["My-App", /capital letters/],
    [".hidden", /start with a period/],
    ["_private", /start with an underscore/],
    ["-dash", /start with a hyphen/],
    [" padded", /start or end with spaces/],
    ["two words", /URL-friendly/],
    ["a/b/c", /URL-friendly/],
    ["crazy!", /~'!\(\)\*/],
    ["@acme/.dot", /start with a period/],
    ["http", /Node\.js core module/],
    ["node_modules", /reserved by npm/],
    ["a".repeat(215), /longer than 214 characters/],
  ])("refuses %j, naming the rule", (name, rule) => {
    const problems = packageNameProblems(name);
    expect(problems.join("; ")).toMatch(rule);
  });

  it("suggests a valid name from a folder name, when one can be made", () => {
    expect(suggestPackageName("My App")).toBe("my-app");
    expect(suggestPackageName("__Orders Service!")).toBe("orders-service");
    expect(suggestPackageName("http")).toBeUndefined();
    expect(suggestPackageName("!!!")).toBeUndefined();
  });
});
