/**
 * The container fields of a resource config: `image` (the worker image of
 * this endpoint) and `systemDependencies` (Debian packages installed on the
 * worker), validated when the config is built and part of its spec.
 */
import { describe, expect, it } from "vitest";
import { CpuLiveServerless, LiveLoadBalancer, LiveServerless } from "../../../src/sdk/index.js";

describe("image and systemDependencies on resource configs", () => {
  it("are part of the spec when set (and absent when not)", () => {
    const spec = new LiveServerless({ name: "g", image: "ghcr.io/acme/cuda-node:12.4-24", systemDependencies: ["libgl1", "ffmpeg", "ffmpeg"] }).toSpec();
    expect(spec).toMatchObject({ image: "ghcr.io/acme/cuda-node:12.4-24", systemDependencies: ["ffmpeg", "libgl1"] });
    const plain = new CpuLiveServerless({ name: "c" }).toSpec();
    expect("image" in plain || "systemDependencies" in plain).toBe(false);
    expect(new LiveLoadBalancer({ name: "l", image: "node@sha256:" + "a".repeat(64) }).toSpec().image).toBe("node@sha256:" + "a".repeat(64));
  });

  it.each([
    [{ image: "" }, /image must be a Docker image reference/],
    [{ image: "node 24" }, /image must be a Docker image reference/],
    [{ image: "node:24;rm -rf /" }, /image must be a Docker image reference/],
    [{ systemDependencies: "ffmpeg" }, /systemDependencies must be an array/],
    [{ systemDependencies: ["ffmpeg", "--force-yes"] }, /"--force-yes" is not a Debian package name/],
    [{ systemDependencies: ["FFmpeg"] }, /"FFmpeg" is not a Debian package name/],
  ])("refuses %j", (fields, message) => {
    expect(() => new CpuLiveServerless({ name: "c", ...(fields as object) })).toThrow(message);
    expect(() => new CpuLiveServerless({ name: "c", ...(fields as object) })).toThrow(expect.objectContaining({ code: "INVALID_CONFIG" }) as Error);
  });
});
