/**
 * The one error type route handlers throw. The error boundary renders it in
 * the shape of the API family the request belongs to: problem JSON for REST v2,
 * `{"error", "status"}` for the job API, the worker protocol, LB routing and
 * the admin routes.
 */
import { STATUS_CODES } from "node:http";

/** An error answered with `status` and `message` (and `errors` for problem JSON). */
export class HttpError extends Error {
  readonly status: number;
  /** Individual validation failures (REST v2 problem JSON `errors`). */
  readonly errors: string[] | undefined;
  /**
   * Answer with `Connection: close`: the request body was left (partly) unread,
   * and keeping the connection alive would make Node read and discard the rest.
   */
  readonly closeConnection: boolean;
  /** Sent as `Retry-After` (429 and 503: the emulator is out of memory for bodies or jobs, for now). */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, message: string, errors?: string[], options: { closeConnection?: boolean; retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.errors = errors;
    this.closeConnection = options.closeConnection ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Type guard for HttpError. */
export function isHttpError(value: unknown): value is HttpError {
  return value instanceof HttpError;
}

/** The reason phrase of a status code (`Not Found`), used as the problem title. */
export function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? "Error";
}

/** RFC 9457 problem details body of REST v2. */
export function problemBody(status: number, detail: string, errors?: string[]): { title: string; status: number; detail: string; errors?: string[] } {
  return errors && errors.length > 0 ? { title: statusTitle(status), status, detail, errors } : { title: statusTitle(status), status, detail };
}

/** Error body of the job API (Runpod does not document one; this is the shape the clients surface). */
export function jobErrorBody(status: number, message: string): { error: string; status: number } {
  return { error: message, status };
}
