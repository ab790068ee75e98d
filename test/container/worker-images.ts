/**
 * Images for the container-worker tests, built locally from
 * node:24-bookworm-slim (no registry is used): one without `node`, as a
 * CUDA image without Node.js would be, and one whose `node` reports v18
 * (no old Node.js binary is available offline, so a wrapper around the real
 * one fakes the version — what the bootstrap checks). Labelled
 * `dev.flash-ts.test=worker-images`, tagged by content, kept between runs.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainerRuntime } from "../../src/container/container-runtime.js";

export const BASE_IMAGE = "node:24-bookworm-slim";
export const NO_NODE_IMAGE = "flash-test-no-node:1";
export const OLD_NODE_IMAGE = "flash-test-old-node:1";

const DOCKERFILES: Record<string, string> = {
  // Like a CUDA base image: Debian, no Node.js, no entrypoint script.
  [NO_NODE_IMAGE]: `FROM ${BASE_IMAGE}\nRUN rm -f /usr/local/bin/node /usr/local/bin/nodejs\nENTRYPOINT []\nCMD ["bash"]\n`,
  [OLD_NODE_IMAGE]: [
    `FROM ${BASE_IMAGE}`,
    `RUN mv /usr/local/bin/node /usr/local/bin/node-real && printf '%s\\n' 'Object.defineProperty(process.versions, "node", { value: "18.19.0" });' 'Object.defineProperty(process, "version", { value: "v18.19.0" });' > /opt/old-node.cjs && printf '#!/bin/sh\\nexec /usr/local/bin/node-real --require /opt/old-node.cjs "$@"\\n' > /usr/local/bin/node && chmod +x /usr/local/bin/node`,
    "",
  ].join("\n"),
};

/** Builds the test images the engine does not have yet. */
export async function ensureWorkerImages(runtime: ContainerRuntime): Promise<void> {
  for (const [tag, dockerfile] of Object.entries(DOCKERFILES)) {
    if (await runtime.inspectImage(tag)) continue;
    const dir = await mkdtemp(join(tmpdir(), "flash-test-image-"));
    try {
      await writeFile(join(dir, "Dockerfile"), dockerfile);
      await runtime.buildImage({ contextDir: dir, files: ["Dockerfile"], dockerfile: "Dockerfile", tag, labels: { "dev.flash-ts.test": "worker-images" }, buildArgs: {} }, () => {});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
