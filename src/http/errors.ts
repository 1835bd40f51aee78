import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, isDatabaseUnavailable } from '../errors';
import { log } from '../log';
import type { Declaration } from './access';

type BodyParserError = Error & { type?: string; status?: number; expose?: boolean; limit?: number };
type PgError = Error & { code?: string; detail?: string };

/** Maps anything thrown to the one error shape; a client never sees a stack trace. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as BodyParserError & PgError;
  switch (e?.type) {
    case 'entity.parse.failed':
      return new AppError(400, 'invalid_json', `the body is not valid JSON: ${e.message}`);
    case 'entity.too.large':
      return new AppError(413, 'payload_too_large', `the body is larger than this route takes (${typeof e.limit === 'number' ? `at most ${e.limit} bytes; ` : ''}imports up to ZONERISK_BODY_LIMIT, other bodies up to 1 MB)`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError(415, 'unsupported_media_type', e.message);
    case 'request.aborted':
    case 'request.size.invalid':
      return new AppError(400, 'bad_request', e.message);
  }
  if (isDatabaseUnavailable(e)) {
    return new AppError(503, 'database_unavailable', 'the database is not available (restarting or unreachable); nothing of this request was written — try again shortly');
  }
  if (e?.name === 'KnexTimeoutError' || e?.message?.includes('Timeout acquiring a connection')) return new AppError(503, 'database_busy', 'the database is busy; try again shortly');
  // a value PostgreSQL cannot take (out of range, a NUL in text, …) that validation let by
  if (e?.code?.startsWith('22')) return new AppError(422, 'invalid_value', 'a value in the request cannot be stored (out of range or malformed); nothing was written');
  if (e?.code === '54001') return new AppError(422, 'too_complex', 'the request is too deeply nested or too complex to process; nothing was written');
  if (e?.code === '40001' || e?.code === '40P01') return new AppError(409, 'conflict', 'a concurrent change conflicted with this one; retry it');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError(e.status, 'bad_request', e.expose ? e.message : 'bad request');
  }
  return new AppError(500, 'internal_error', 'an internal error occurred; it has been logged');
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const tooLarge = (res.locals.route as Declaration | null | undefined)?.tooLarge;
  const mapped = toAppError(err);
  // a route whose body is an entity with limits of its own says so in its own words
  const appError = mapped.status === 413 && tooLarge ? new AppError(422, tooLarge, mapped.message, mapped.details) : mapped;
  const e = err as Error;
  if (appError.status === 500) {
    log.error('request failed', { method: req.method, path: req.path, error: e?.message, stack: e?.stack });
  } else if ((appError.status > 500 && appError.code !== 'busy') || appError.code === 'invalid_value' || appError.code === 'too_complex') {
    log.warn('request not served', { method: req.method, path: req.path, status: appError.status, error: e?.message });
  }
  if (res.headersSent) {
    // a streamed body broke off: abort, so that no client takes the part for the whole
    res.destroy();
    return;
  }
  if (appError.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="zonerisk"');
  if (appError.retryAfter !== undefined) res.setHeader('Retry-After', String(appError.retryAfter));
  else if (appError.status === 503) res.setHeader('Retry-After', '2');
  const body = appError.toJSON();
  // the request id ties a client's error to the server's log lines
  res.status(appError.status).json({ error: { ...body.error, request_id: res.locals.requestId as string | undefined } });
};

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError(404, 'not_found', `Không có đường dẫn này — no route for ${req.method} ${req.path}`));
};

/** 415 unless the request declares one of the accepted media types (`optional`: or sends no body at all). */
export function accepts(...types: string[]): RequestHandler {
  return acceptsBody(types, false);
}

/** As `accepts`, for a route whose body may be left out (then no Content-Type is needed). */
export function acceptsOptional(...types: string[]): RequestHandler {
  return acceptsBody(types, true);
}

function acceptsBody(types: string[], optional: boolean): RequestHandler {
  return (req, _res, next) => {
    const bodyless = req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
    if (optional && bodyless) {
      next();
      return;
    }
    const declared = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (!types.includes(declared)) {
      next(
        new AppError(415, 'unsupported_media_type', `Content-Type must be one of ${types.join(', ')}; got ${declared || 'none'}`, [
          { path: 'Content-Type', message: `expected ${types.join(' or ')}` },
        ]),
      );
      return;
    }
    next();
  };
}
