/**
 * The local emulator of Runpod Serverless (`flash-ts/emulator`).
 *
 * ```ts
 * const emulator = await startEmulator({ port: 0 });
 * process.env.RUNPOD_API_BASE_URL = emulator.url;
 * process.env.RUNPOD_ENDPOINT_BASE_URL = `${emulator.url}/v2`;
 * // … create endpoints through REST v2, run jobs, call LB endpoints …
 * await emulator.close();
 * ```
 */
export { startEmulator } from "./start-emulator.js";
export type { EmulatorHandle, EmulatorOptions, EmulatorState } from "./start-emulator.js";
export type { ActiveFault, FaultRule, Faults } from "./faults.js";
export type { WorkerLogLine } from "./worker-pool.js";
export type { WorkerSnapshot } from "./pool-worker.js";
export { parseEgressPolicy } from "./egress-proxy.js";
export type { EgressPolicy } from "./egress-proxy.js";

/** Parses `process` / `container` (FLASH_EMULATOR_WORKERS, `--workers`); throws INVALID_INPUT otherwise. */
export { parseWorkerMode } from "./worker-mode.js";
