import { AppError } from "../common/errors.js";
import type { WatchMode } from "./types.js";

/**
 * Picks how to watch files from the environment:
 * - `FLASH_WATCH=poll|native` forces a mode (`auto` or empty means "decide");
 * - inside the dev container (`FLASH_IN_CONTAINER=1`) poll, because bind
 *   mounts from macOS/Windows hosts deliver no file events;
 * - otherwise native events.
 *
 * @throws AppError `INVALID_INPUT` for any other `FLASH_WATCH` value.
 */
export function resolveWatchMode(env: Readonly<Record<string, string | undefined>>): WatchMode {
  const forced = (env.FLASH_WATCH ?? "").trim().toLowerCase();
  if (forced === "poll" || forced === "polling") return "poll";
  if (forced === "native") return "native";
  if (forced !== "" && forced !== "auto") {
    throw new AppError("INVALID_INPUT", `FLASH_WATCH must be "poll", "native" or "auto", not "${env.FLASH_WATCH}"`, {
      hint: "Unset FLASH_WATCH to let flash pick: polling inside the dev container, native file events elsewhere.",
    });
  }
  const inContainer = (env.FLASH_IN_CONTAINER ?? "").trim().toLowerCase();
  return inContainer === "1" || inContainer === "true" ? "poll" : "native";
}
