/**
 * The host side of the published port: which address `--host` means, and
 * whether the port is free there — checked before the container is created so
 * a taken port is one clear message, not an engine error after a long start.
 */
import { lookup } from "node:dns/promises";
import { isIP, createServer } from "node:net";
import { AppError } from "../common/errors.js";

/**
 * The IP address Docker should publish on for a `--host` value. Docker needs
 * an address, not a name: `localhost` is 127.0.0.1 (IPv4 loopback, where Docker
 * publishes reliably), other names are resolved.
 */
export async function resolvePublishAddress(host: string): Promise<string> {
  const h = host.trim().replace(/^\[|\]$/g, "");
  if (h === "" || h === "localhost") return "127.0.0.1";
  if (isIP(h)) return h;
  try {
    return (await lookup(h)).address;
  } catch (error) {
    throw new AppError("INVALID_INPUT", `--host ${host}: this name does not resolve to an address.`, {
      hint: "Use localhost, 127.0.0.1, 0.0.0.0 (all interfaces) or an address of this machine.",
      cause: error,
    });
  }
}

/** The error for a taken port, the same whether we noticed it or the engine did. */
export function portInUseError(address: string, port: number, cause?: unknown): AppError {
  return new AppError("PORT_IN_USE", `Port ${port} on ${address} is already in use, so flash dev cannot publish its server there.`, {
    hint: `Stop what holds it (see \`lsof -i :${port}\` or \`docker ps\`), or choose another port with --port / FLASH_PORT.`,
    details: { port, host: address },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Resolves when `port` can be bound on `address`; throws `PORT_IN_USE` when it cannot. */
export async function checkPortFree(address: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") reject(portInUseError(address, port, error));
      // EACCES (a low port; the engine may bind it) or an address that is not ours: let the engine decide.
      else resolve();
    });
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
