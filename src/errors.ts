/** One error type for everything a client can be told about. */
export type ErrorDetail = { path: string; message: string };

export class AppError extends Error {
  /** seconds a client should wait before trying again (sent as Retry-After) */
  retryAfter?: number;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'AppError';
  }

  toJSON(): { error: { code: string; message: string; details: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export const badRequest = (message: string, details: ErrorDetail[] = [], code = 'bad_request') =>
  new AppError(400, code, message, details);
export const notFound = (message: string) => new AppError(404, 'not_found', message);
export const unauthorized = (message: string) => new AppError(401, 'unauthorized', message);
export const forbidden = (message: string, details: ErrorDetail[] = []) => new AppError(403, 'forbidden', message, details);
export const conflict = (message: string, details: ErrorDetail[] = []) =>
  new AppError(409, 'conflict', message, details);
export const unprocessable = (message: string, details: ErrorDetail[] = [], code = 'validation_failed') =>
  new AppError(422, code, message, details);
export const unavailable = (message: string) => new AppError(503, 'unavailable', message);

/** Keeps error bodies bounded: a million bad rows must not produce a million details. */
export const MAX_ERROR_DETAILS = 50;

export class DetailCollector {
  readonly details: ErrorDetail[] = [];
  count = 0;
  add(path: string, message: string): void {
    this.count++;
    if (this.details.length < MAX_ERROR_DETAILS) this.details.push({ path, message });
  }
  get full(): boolean {
    return this.details.length >= MAX_ERROR_DETAILS;
  }
  throwIfAny(summary: (count: number) => string, code = 'validation_failed'): void {
    if (this.count > 0) {
      const more = this.count > this.details.length ? ` (first ${this.details.length} listed)` : '';
      throw unprocessable(summary(this.count) + more, this.details, code);
    }
  }
}

const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '53300']);
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
// node-postgres reports a connection that died under a query without a code
const LOST_CONNECTION = /Connection terminated|connection error and is not queryable|Client was closed and is not queryable|terminating connection/i;

/** The database is away (restarting, failing over, unreachable): 503, and the client may retry. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (e?.code && (PG_UNAVAILABLE.has(e.code) || NET_UNAVAILABLE.has(e.code))) return true;
  return typeof e?.message === 'string' && LOST_CONNECTION.test(e.message);
}
