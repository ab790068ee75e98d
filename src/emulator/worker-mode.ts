/** How the emulator runs workers: local processes (default) or Docker containers of the endpoint's image. */
import { AppError } from "../common/errors.js";

export type EmulatorWorkerMode = "process" | "container";

/** Parses `process` / `container` (`--workers`, FLASH_EMULATOR_WORKERS); empty means `process`. */
export function parseWorkerMode(value: string | undefined, source: string): EmulatorWorkerMode {
  const mode = (value ?? "").trim().toLowerCase();
  if (mode === "" || mode === "process") return "process";
  if (mode === "container") return "container";
  throw new AppError("INVALID_INPUT", `${source} must be "process" or "container" (got ${JSON.stringify(value)})`, {
    hint: "process: workers are local processes (default); container: each worker is a Docker container of its endpoint's image, as on Runpod.",
  });
}
