/**
 * Whether a debugger may hold this process's calls paused: an inspector is
 * open (`node --inspect`, which `flash dev --inspect` gives each worker, or
 * SIGUSR1 on a running process). A timer keeps running while a debugger holds
 * the process at a breakpoint and fires the moment it resumes, so the executor
 * then enforces no execution limit and nested calls carry none
 * (docs/internals.md, "Debugging").
 */
import { createRequire } from "node:module";

type InspectorModule = { url(): string | undefined };

let inspector: InspectorModule | null | undefined;

/** True while this process has an inspector open. Checked per call: SIGUSR1 opens one at any time. */
export function underInspector(): boolean {
  if (inspector === undefined) {
    try {
      // A Node built without the inspector throws on load; such a process is never debugged.
      inspector = createRequire(import.meta.url)("node:inspector") as InspectorModule;
    } catch {
      inspector = null;
    }
  }
  return inspector !== null && inspector.url() !== undefined;
}

/** How long a call without a limit is waited for under an inspector: Runpod's longest timeout, which timers can hold. */
export const UNBOUNDED_WAIT_MS = 7 * 24 * 60 * 60 * 1000;
