import { createHash, timingSafeEqual } from 'node:crypto';
import { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Actor } from '../db/audit';
import type { Principal } from '../db/keys';
import { actorOf, principal } from '../services/admin';
import { AppError, badRequest, unauthorized } from '../errors';
import { admit, RouteTable } from './access';
import type { Config } from '../config';
import type { Runtime } from '../runtime';
import { awaitingContinue } from './server';

/**
 * Key guesses: requests whose bearer token is no valid key, per client address (IPv6 by /56,
 * as the rate limiter groups them) per minute. Past the limit, that address's tokens that
 * are not known to be valid are answered 429 without a database lookup — a guessing client
 * must not cost a round trip per guess — while keys this process has seen valid in the
 * last minutes are still looked up as usual (a flood of junk from a shared address, such
 * as a proxy's, does not lock out the reporters and admins behind it). Anonymous requests
 * and refusals by role (403) are not guesses and are not counted. A client's window starts
 * at its first guess; the table is bounded (the oldest client is dropped), so a flood of
 * addresses cannot grow it. Kept here rather than in express-rate-limit's store: that
 * store answers with a promise, and the anonymous read — the commonest request — is
 * admitted without one.
 */
export class GuessCounter {
  private readonly clients = new Map<string, { count: number; since: number }>();
  private readonly known = new Map<string, number>();
  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
    private readonly maxClients = 100_000,
    private readonly knownMs = 10 * 60_000,
  ) {}

  private entry(client: string, now: number) {
    const e = this.clients.get(client);
    if (e && now - e.since < this.windowMs) return e;
    if (e) this.clients.delete(client);
    return undefined;
  }
  /** True when this client's guesses are over the limit and the token was not seen valid lately. */
  blocked(client: string, token: string, now = Date.now()): boolean {
    const e = this.entry(client, now);
    if (!e || e.count < this.limit) return false;
    const seen = this.known.get(tokenKey(token));
    return seen === undefined || now - seen > this.knownMs;
  }
  guessed(client: string, now = Date.now()): void {
    const e = this.entry(client, now);
    if (e) {
      e.count++;
      return;
    }
    if (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value as string);
    this.clients.set(client, { count: 1, since: now });
  }
  valid(token: string, now = Date.now()): void {
    const k = tokenKey(token);
    this.known.delete(k);
    if (this.known.size >= 10_000) this.known.delete(this.known.keys().next().value as string);
    this.known.set(k, now);
  }
  retryAfterSeconds(client: string, now = Date.now()): number {
    const e = this.entry(client, now);
    return e ? Math.max(1, Math.ceil((e.since + this.windowMs - now) / 1000)) : 1;
  }
}

/** A token as the counter remembers it (never the token itself). */
const tokenKey = (token: string) => createHash('sha256').update(token).digest('base64url');

/** A token as long-lived keys are compared: their SHA-256, in constant time. */
const sameKey = (token: string, key: string) => timingSafeEqual(createHash('sha256').update(token).digest(), createHash('sha256').update(key).digest());

/** Whether `token` is ZONERISK_METRICS_KEY (a scraper's key: it opens GET /metrics and nothing else). */
export function isMetricsKey(config: Pick<Config, 'metricsKey'>, token: string): boolean {
  return config.metricsKey !== null && token !== '' && sameKey(token, config.metricsKey);
}

/** The route of GET /metrics (its id in src/http/access.ts). */
export const METRICS_ROUTE = 'GET /metrics';

/** Whether this request was admitted with ZONERISK_METRICS_KEY (src/http/hygiene.ts metricsRoutes). */
export function byMetricsKey(res: Response): boolean {
  return res.locals.metricsKey === true;
}

/**
 * The gate every request passes before any body is read: it finds the route declaration the
 * path stands for (src/http/access.ts), identifies the caller (a key that is given must be
 * valid, else 401 — also on a public read), and admits or refuses by the declaration. A path
 * spelled otherwise than declared is then redirected (308) to its declared spelling.
 */
export function gate(rt: Runtime, table: RouteTable): RequestHandler {
  const { config } = rt;
  const guesses = new GuessCounter(config.refusalRate);
  const client = (req: Request) => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? '');

  const decide = (req: Request, res: Response, principal: Principal | null): void => {
    const found = table.find(req.method, req.path);
    if (found === 'bad_path') {
      admit(null, req.method, principal, config.publicReads); // the strictest first
      throw badRequest('the path is not validly percent-encoded', [{ path: '(path)', message: 'malformed percent-encoding' }], 'bad_path');
    }
    admit(found.declaration, req.method, principal, config.publicReads);
    // a request matching no declaration reaches no router (not even express's own OPTIONS answer)
    if (!found.declaration) throw new AppError(404, 'not_found', `Không có đường dẫn này — no route for ${req.method} ${req.path}`);
    res.locals.principal = principal;
    res.locals.route = found.declaration;
    if (found.respell !== null) res.locals.respell = found.respell;
    // admitted (and not to be redirected): a client waiting to send its body may send it now
    else if (awaitingContinue.delete(res)) res.writeContinue();
  };
  // a refused request's body is not read: the connection is closed after the answer
  const refuse = (req: Request, res: Response, next: NextFunction, e: unknown) => {
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.setHeader('Connection', 'close');
    next(e);
  };

  return (req, res, next) => {
    const header = req.headers.authorization;
    if (header === undefined) {
      // an anonymous request, the commonest: decided without a round trip or a promise
      try {
        decide(req, res, null);
      } catch (e) {
        refuse(req, res, next, e);
        return;
      }
      next();
      return;
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
    if (isMetricsKey(config, token)) {
      // the scraper's key is no API key: admitted to GET /metrics only, as no principal
      const found = table.find(req.method, req.path);
      if (found === 'bad_path' || found.declaration?.id !== METRICS_ROUTE) {
        refuse(req, res, next, unauthorized('the metrics key (ZONERISK_METRICS_KEY) opens GET /metrics only'));
        return;
      }
      res.locals.principal = null;
      res.locals.route = found.declaration;
      res.locals.metricsKey = true;
      if (found.respell !== null) res.locals.respell = found.respell;
      next();
      return;
    }
    if (guesses.blocked(client(req), token)) {
      const e = new AppError(429, 'rate_limited', 'too many invalid API keys from this address: wait before trying again');
      e.retryAfter = guesses.retryAfterSeconds(client(req));
      refuse(req, res, next, e);
      return;
    }
    (token ? principal(rt, token) : Promise.resolve(null))
      .then((principal) => {
        if (!principal) {
          guesses.guessed(client(req));
          throw unauthorized('the API key is not valid (unknown, malformed or revoked)');
        }
        guesses.valid(token);
        decide(req, res, principal);
      })
      .then(
        () => next(),
        (e: unknown) => refuse(req, res, next, e),
      );
  };
}

/**
 * A path spelled otherwise than its declaration (letter case, `//`, dot segments, encoded
 * letters, a trailing slash) is answered 308 with the declared spelling — after the gate
 * admitted the caller and the rate limiter counted the request, before any handler. The
 * Location is relative where every client resolves it alike (`relativeTo`), so that it
 * stays under the prefix a proxy serves the service at.
 */
export function respell(): RequestHandler {
  return (req, res, next) => {
    const to = res.locals.respell as string | undefined;
    if (to === undefined) return next();
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) res.setHeader('Connection', 'close');
    const query = req.originalUrl.indexOf('?');
    const path = query >= 0 ? req.originalUrl.slice(0, query) : req.originalUrl;
    res.redirect(308, relativeTo(path, to) + (query >= 0 ? req.originalUrl.slice(query) : ''));
  };
}

/** More segments than any declared path has: such a spelling is answered with the absolute path (a relative one would grow with it). */
const MAX_RELATIVE_SEGMENTS = 32;

/**
 * The absolute path `to` as a reference relative to a request for `path`: up from the
 * request's directory to the root this server sees, then down. Behind a proxy that serves
 * the service under a prefix, the root is the prefix, so the reference lands under it.
 * A path with a dot segment (`.`, `..`, or `%2e` for either dot) is answered with `to`
 * itself: browsers remove such segments before resolving (WHATWG), other clients keep the
 * encoded ones (RFC 3986), so no one relative reference lands right for both; a backslash
 * likewise (a separator to browsers only); and a path of more segments than any route has.
 */
export function relativeTo(path: string, to: string): string {
  const segments = path.split('/');
  if (segments.length > MAX_RELATIVE_SEGMENTS || path.includes('\\') || /%5c/i.test(path) || segments.some((s) => /^(\.|%2e){1,2}$/i.test(s))) return to;
  const ups = segments.length - 2;
  return (ups > 0 ? '../'.repeat(ups) : './') + to.slice(1);
}

/** The caller (null: anonymous, on a public read). */
export function principalOf(res: Response): Principal | null {
  return (res.locals.principal as Principal | null | undefined) ?? null;
}

/** A reporter key's areas (writes are limited to them and below), or null for every other role. */
export function scopeOf(res: Response): number[] | null {
  const p = principalOf(res);
  return p?.role === 'reporter' ? p.scope : null;
}

/** Who is writing: a write route is never anonymous (its declaration needs a key). */
export function writer(res: Response): Actor {
  const p = principalOf(res);
  if (!p) throw unauthorized('writes need an API key: Authorization: Bearer <key>');
  return actorOf(p);
}
