/**
 * Ports: the one way to find a free one, and what a failed listen means to a
 * user. The dev server looks for the first free port from the one asked for
 * (`flash dev --port`); the emulator asks for any free port for a
 * load-balanced worker's PORT. Both are the same probe.
 */
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { AppError } from "./errors.js";

/** A failed listen as an AppError a user can act on. */
export function listenError(err: NodeJS.ErrnoException, host: string, port: number): AppError {
  if (err.code === "EADDRINUSE") {
    return new AppError("PORT_IN_USE", `Port ${port} on ${host} is already in use`, {
      hint: "Stop the process using it, or pass another --port.",
      cause: err,
    });
  }
  if (err.code === "EACCES") {
    return new AppError("INVALID_INPUT", `Not allowed to listen on port ${port} on ${host}`, {
      hint: "Use a port above 1024.",
      cause: err,
    });
  }
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") {
    return new AppError("INVALID_INPUT", `Cannot listen on host "${host}": it is not an address of this machine`, {
      hint: "Use localhost, 127.0.0.1 or 0.0.0.0.",
      cause: err,
    });
  }
  return new AppError("INTERNAL", `Could not listen on ${host}:${port}: ${err.message}`, { cause: err });
}

/** Result of {@link findFreePort}. */
export interface FreePort {
  port: number;
  /** The port asked for (0: any). */
  requested: number;
  /** True when the requested port was taken and another was chosen. */
  moved: boolean;
}

/** Binds `port` on `host` and lets it go; resolves to the port bound (the system's choice for 0), or undefined when it is in use. */
function probe(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") resolve(undefined);
      else reject(listenError(err, host, port));
    });
    server.listen({ host, port, exclusive: true }, () => {
      const bound = (server.address() as AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * The first port from `from` on (at most `attempts` ports) that can be bound
 * on `host`; with `from` 0, a port the system picks. A moved port is
 * reported in the result; none free in the range is PORT_IN_USE naming it.
 *
 * The port is free when checked; whoever listens on it next still has to
 * handle PORT_IN_USE if another process takes it in between.
 */
export async function findFreePort(host: string, from = 0, attempts = 20): Promise<FreePort> {
  if (from === 0) {
    const port = await probe(host, 0);
    if (port === undefined) throw new AppError("PORT_IN_USE", `No free port on ${host}`, { hint: "Free some ports, or stop processes that hold many." });
    return { port, requested: 0, moved: false };
  }
  const last = Math.min(65535, from + Math.max(1, attempts) - 1);
  for (let candidate = from; candidate <= last; candidate++) {
    if ((await probe(host, candidate)) !== undefined) return { port: candidate, requested: from, moved: candidate !== from };
  }
  const range = last === from ? `Port ${from}` : `Ports ${from}–${last}`;
  throw new AppError("PORT_IN_USE", `${range} on ${host} ${last === from ? "is" : "are all"} in use`, {
    hint: "Stop what is using them, or pass another --port.",
  });
}
