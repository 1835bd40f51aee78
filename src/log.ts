import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';

/**
 * Structured one-line JSON logs on stderr (pino). Every line written while a request is
 * being served carries its `req_id` (kept in AsyncLocalStorage by the request-id middleware).
 */
type Level = 'debug' | 'info' | 'warn' | 'error';

export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

const logger = pino(
  {
    level: 'info',
    base: undefined, // no pid/hostname on every line
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => {
      const ctx = requestContext.getStore();
      return ctx ? { req_id: ctx.requestId } : {};
    },
  },
  pino.destination({ dest: 2, sync: true }), // nothing lost when the process exits
);

export function setLogLevel(level: Level | 'silent'): void {
  logger.level = level;
}

/** The level in force (a job process logs at its service's level). */
export function logLevel(): string {
  return logger.level;
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => logger.debug(fields ?? {}, msg),
  info: (msg: string, fields?: Record<string, unknown>) => logger.info(fields ?? {}, msg),
  warn: (msg: string, fields?: Record<string, unknown>) => logger.warn(fields ?? {}, msg),
  error: (msg: string, fields?: Record<string, unknown>) => logger.error(fields ?? {}, msg),
};
