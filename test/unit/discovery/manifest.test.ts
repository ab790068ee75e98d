/** What the rest of flash-ts reads from a manifest: the endpoints the code needs, and whether it loaded. */
import { describe, expect, it } from "vitest";
import { errorIssues, remoteSpecs } from "../../../src/discovery/manifest.js";
import type { DiscoveryIssue, FunctionEntry } from "../../../src/discovery/manifest.js";

const fn = (name: string, local = false, file = "a.ts"): FunctionEntry => ({ config: { name }, local, file }) as unknown as FunctionEntry;

describe("remoteSpecs", () => {
  it("gives one config per name, sorted by name, leaving out local functions", () => {
    const specs = remoteSpecs({ functions: [fn("gpu"), fn("cpu"), fn("gpu", false, "b.ts"), fn("here", true)] });
    expect(specs.map((s) => s.name)).toEqual(["cpu", "gpu"]);
  });
});

describe("errorIssues", () => {
  it("keeps errors (an issue without a severity is one) and leaves warnings out", () => {
    const issues = [
      { code: "FUNCTION_LOAD_FAILED", message: "a" },
      { code: "UNEXPORTED_REMOTE", message: "b", severity: "warning" },
      { code: "INVALID_CONFIG", message: "c", severity: "error" },
    ] as DiscoveryIssue[];
    expect(errorIssues({ issues }).map((i) => i.message)).toEqual(["a", "c"]);
  });
});
