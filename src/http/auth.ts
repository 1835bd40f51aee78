import { Request, RequestHandler, Response } from 'express';
import { Principal, principalFor } from '../db/keys';
import { forbidden, unauthorized } from '../errors';
import { AppContext } from './context';

/**
 * Authentication and roles, in one place. A request may carry `Authorization: Bearer <key>`;
 * a key that is given must be valid (else 401, even on a read). Writes under /v1 need a
 * key (401 without) whose role allows them (403): readers write nothing; reporters submit
 * reports and metrics only — for areas inside their scope, which the ingest checks in its
 * own transaction; admins do everything. Reads of data (/v1, /ogc, /tiles) are public unless
 * ZONERISK_PUBLIC_READS=false. Health, readiness and the map page's files are always public.
 */
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const REPORTER_WRITES = new Set(['POST /v1/reports', 'POST /v1/metrics']);
const DATA = /^\/(v1|ogc|tiles)(\/|\.|$)/;

export function authenticate({ db, config }: AppContext): RequestHandler {
  /** What the caller may do, once known (the key, or nobody). Throws 401/403. */
  const admit = (req: Request, res: Response, principal: Principal | null) => {
    const write = WRITES.has(req.method) && req.path.startsWith('/v1');
    if (write && !principal) throw unauthorized('writes need an API key: Authorization: Bearer <key>');
    if (!write && !principal && !config.publicReads && DATA.test(req.path)) throw unauthorized('reads need an API key on this service (ZONERISK_PUBLIC_READS=false)');
    if (write && principal && principal.role !== 'admin') {
      if (principal.role === 'reader') throw forbidden('a reader key cannot write');
      if (!REPORTER_WRITES.has(`${req.method} ${req.path.replace(/\/$/, '')}`)) throw forbidden('a reporter key may only submit reports and metrics');
    }
    res.locals.principal = principal;
  };
  return (req, res, next) => {
    const header = req.headers.authorization;
    if (header === undefined) {
      // an anonymous read, the commonest request: decided without a round trip or a promise
      try {
        admit(req, res, null);
      } catch (e) {
        next(e);
        return;
      }
      next();
      return;
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    (token ? principalFor(db.knex, token, config.adminKey) : Promise.resolve(null)).then(
      (principal) => {
        if (!principal) throw unauthorized('the API key is not valid (unknown, malformed or revoked)');
        admit(req, res, principal);
      },
    ).then(() => next(), next);
  };
}

/** The caller (null: anonymous, on a public read). */
export function principalOf(res: Response): Principal | null {
  return (res.locals.principal as Principal | null | undefined) ?? null;
}

/** Admin-only resources (keys, audit) are refused to anyone else, reads included. */
export function requireAdmin(res: Response): Principal {
  const p = principalOf(res);
  if (!p) throw unauthorized('this needs an admin API key');
  if (p.role !== 'admin') throw forbidden('this needs an admin API key');
  return p;
}
