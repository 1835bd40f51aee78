import { RequestHandler, Response } from 'express';
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
  return async (req, res, next) => {
    try {
      let principal: Principal | null = null;
      const header = req.headers.authorization;
      if (header !== undefined) {
        const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
        principal = token ? await principalFor(db.knex, token, config.adminKey) : null;
        if (!principal) throw unauthorized('the API key is not valid (unknown, malformed or revoked)');
      }
      const write = WRITES.has(req.method) && req.path.startsWith('/v1');
      if (write && !principal) throw unauthorized('writes need an API key: Authorization: Bearer <key>');
      if (!write && !principal && !config.publicReads && DATA.test(req.path)) throw unauthorized('reads need an API key on this service (ZONERISK_PUBLIC_READS=false)');
      if (write && principal && principal.role !== 'admin') {
        if (principal.role === 'reader') throw forbidden('a reader key cannot write');
        if (!REPORTER_WRITES.has(`${req.method} ${req.path.replace(/\/$/, '')}`)) throw forbidden('a reporter key may only submit reports and metrics');
      }
      res.locals.principal = principal;
      next();
    } catch (e) {
      next(e);
    }
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
