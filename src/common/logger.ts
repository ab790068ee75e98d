/**
 * A small logger: human lines to stderr, an optional prefix per component
 * (`[live-gpu-worker] …`), levels, colour only on a TTY, and secret redaction
 * on every line. Results go to stdout elsewhere; this is only for humans.
 */
import { redact } from "./redact.js";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger whose lines start with `[prefix]`. */
  child(prefix: string): Logger;
  readonly level: LogLevel;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines are written. Default: process.stderr. */
  write?: (line: string) => void;
  prefix?: string;
  color?: boolean;
}

const COLORS = { debug: "\x1b[90m", info: "", warn: "\x1b[33m", error: "\x1b[31m" } as const;
const RESET = "\x1b[0m";

/** Parses a level name, falling back to `info` for anything unknown. */
export function parseLogLevel(value: string | undefined): LogLevel {
  const v = (value ?? "").toLowerCase();
  if (v === "debug" || v === "info" || v === "warn" || v === "error" || v === "silent") return v;
  if (v === "warning") return "warn";
  return "info";
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? parseLogLevel(process.env.FLASH_LOG_LEVEL ?? process.env.LOG_LEVEL);
  const write = options.write ?? ((line: string) => void process.stderr.write(line + "\n"));
  const color = options.color ?? (process.stderr.isTTY === true && !process.env.NO_COLOR);
  const prefix = options.prefix;

  const emit = (lvl: Exclude<LogLevel, "silent">, message: string): void => {
    if (LEVEL_ORDER[lvl] < LEVEL_ORDER[level]) return;
    const text = redact(message);
    const lines = text.split("\n");
    for (const line of lines) {
      const prefixed = prefix ? `[${prefix}] ${line}` : line;
      write(color && COLORS[lvl] ? `${COLORS[lvl]}${prefixed}${RESET}` : prefixed);
    }
  };

  return {
    level,
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warn", m),
    error: (m) => emit("error", m),
    child: (childPrefix) =>
      createLogger({ level, write, color, prefix: prefix ? `${prefix}:${childPrefix}` : childPrefix }),
  };
}

/** A logger that drops everything (library default, tests). */
export const nullLogger: Logger = {
  level: "silent",
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => nullLogger,
};

/** A logger that records lines, for tests. */
export function createMemoryLogger(level: LogLevel = "debug"): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ level, write: (l) => lines.push(l), color: false });
  return Object.assign(logger, { lines });
}
