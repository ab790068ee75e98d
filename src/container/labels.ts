/**
 * Labels on everything flash-ts creates in the engine, so leftovers can be
 * found (a container of a killed CLI) and nothing else is ever touched.
 */

const PREFIX = "dev.flash-ts";

export const LABELS = {
  /** "true" on every container, volume and image flash-ts made. */
  managed: `${PREFIX}.managed`,
  /** What it is: `dev-container`, `deps-volume`, `emulator-worker`, `emulator-network`. */
  role: `${PREFIX}.role`,
  /** Stable id of the project (hash of its absolute path). */
  project: `${PREFIX}.project`,
  /** The project's absolute path on the host, for humans. */
  projectPath: `${PREFIX}.project-path`,
  /** Hash of the image build context. */
  contextHash: `${PREFIX}.context-hash`,
  /** On the Dockerfile's build stage (`build`), whose untagged leftovers are pruned after a build. */
  stage: `${PREFIX}.stage`,
  /** On the build stage: which build left it (so concurrent builds never prune each other's). */
  build: `${PREFIX}.build`,
  /** flash-ts version that made it. */
  version: `${PREFIX}.version`,
  /** The emulator instance that owns a worker container or network. */
  emulator: `${PREFIX}.emulator`,
  /** The emulator endpoint a worker container belongs to. */
  endpoint: `${PREFIX}.endpoint`,
  /** Host name and pid of the CLI that owns a container (to tell a live session from a stale one). */
  ownerHost: `${PREFIX}.owner-host`,
  ownerPid: `${PREFIX}.owner-pid`,
} as const;
