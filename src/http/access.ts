import { RequestHandler, Router } from 'express';
import type { RouteParameters } from 'express-serve-static-core';
import { compile, match, MatchFunction, ParamData } from 'path-to-regexp';
import { AppError, forbidden, unauthorized } from '../errors';
import type { Principal } from '../db/keys';

/**
 * Who may use a route, declared where the route is registered — and nowhere else.
 *
 * - `public`: anyone, always (health, readiness, the map page's files, the API documents);
 * - `read`: data reads — anyone while ZONERISK_PUBLIC_READS is on, else any valid key;
 * - `report`: reporters (inside their scope, which the write itself checks) and admins;
 * - `admin`: admin keys only.
 *
 * A request is judged by the declaration its path matches after normalisation (percent
 * decoding, `//`, `.` and `..` segments, a trailing slash, letter case): no spelling of a
 * path reaches a route under another access. A request matching no declaration is treated
 * as the strictest kind (a write without a key is 401; a read without one is 401 when reads
 * are private) and then answered 404. Express routing is case-sensitive and strict, and a
 * handler runs only for the declaration the gate judged (the guard every route begins with):
 * a path spelled otherwise than declared is redirected (308) to its declared spelling once
 * the caller is admitted.
 */
export type Access = 'public' | 'read' | 'report' | 'admin';
export const ACCESS: readonly Access[] = ['public', 'read', 'report', 'admin'];

export type Method = 'GET' | 'POST' | 'DELETE';

/**
 * How large a request body a route takes: `small` (the default: at most SMALL_BODY_BYTES — a
 * rule set, a key, an override) or `bulk` (imports of areas, reports and indicators: up to
 * ZONERISK_BODY_LIMIT).
 */
export type BodySize = 'small' | 'bulk';
export const SMALL_BODY_BYTES = 1024 * 1024;

/**
 * A route's access, and where it differs from the default: its body size, and the error code
 * of a body over it when that is a 422 of the route's own (a rule set over its limits is a
 * `rule_set_too_large`, whether its size or its contents say so) rather than a 413.
 */
export type AccessSpec = Access | { access: Access; body?: BodySize; tooLarge?: string };

export type Declaration = {
  method: Method;
  /** the express path, e.g. `/v1/zones/:code` */
  path: string;
  access: Access;
  body: BodySize;
  /** the 422 error code answered for a body over the size (null: 413 payload_too_large) */
  tooLarge: string | null;
  /** `GET /v1/zones/:code` — also the rate limiter's and the metrics' route identity */
  id: string;
  /** matches a request path exactly as express does (case-sensitive, no trailing slash) */
  exact: MatchFunction<ParamData>;
  /** matches a normalised path whatever its letter case */
  loose: MatchFunction<ParamData>;
  /** the declared spelling of a path with these parameters */
  spell: (params: ParamData) => string;
};

const GUARD = Symbol('zonerisk.access.guard');
type Guard = RequestHandler & { [GUARD]: Declaration };

/** The declaration a route's first handler enforces (undefined: an undeclared route). */
export function guardOf(handler: unknown): Declaration | undefined {
  return typeof handler === 'function' ? (handler as Partial<Guard>)[GUARD] : undefined;
}

function declaration(method: Method, path: string, spec: AccessSpec): Declaration {
  const { access, body = 'small', tooLarge = null } = typeof spec === 'string' ? { access: spec } : spec;
  return {
    method,
    path,
    access,
    body,
    tooLarge,
    id: `${method} ${path}`,
    exact: match(path, { sensitive: true, trailing: false, decode: false }),
    loose: match(path, { sensitive: false, trailing: false }),
    spell: compile(path),
  };
}

/** Handlers of a route, their `req.params` typed from its path. */
type Handlers<P extends string> = RequestHandler<RouteParameters<P>>[];

/** An express router whose every route declares its access (the only way routes are added). */
export class Routes {
  readonly router = Router({ caseSensitive: true, strict: true });
  readonly declarations: Declaration[] = [];

  get<P extends string>(path: P, access: Access, ...handlers: Handlers<P>): this {
    return this.add('GET', path, access, handlers as RequestHandler[]);
  }
  post<P extends string>(path: P, access: AccessSpec, ...handlers: Handlers<P>): this {
    return this.add('POST', path, access, handlers as RequestHandler[]);
  }
  delete<P extends string>(path: P, access: Access, ...handlers: Handlers<P>): this {
    return this.add('DELETE', path, access, handlers as RequestHandler[]);
  }

  private add(method: Method, path: string, spec: AccessSpec, handlers: RequestHandler[]): this {
    const d = declaration(method, path, spec);
    const guard: Guard = Object.assign<RequestHandler, { [GUARD]: Declaration }>(
      (_req, res, next) => {
        // the gate judged this very declaration, or nothing runs (a router matching otherwise than the gate)
        if (res.locals.route !== d) next(new AppError(404, 'not_found', 'Không có đường dẫn này — no route for this path'));
        else next();
      },
      { [GUARD]: d },
    );
    const route = this.router.route(path);
    if (method === 'GET') route.get(guard, ...handlers);
    else if (method === 'POST') route.post(guard, ...handlers);
    else route.delete(guard, ...handlers);
    this.declarations.push(d);
    return this;
  }
}

/** The outcome of matching a request path against the declarations. */
export type Matched = {
  declaration: Declaration | null;
  /** the declared spelling when the request spelled it otherwise (null: as declared) */
  respell: string | null;
};

/**
 * A path in normal form, as segments: percent-decoded first (so an encoded `/`, `\` or `.`
 * counts as what it encodes), `\` taken as `/`, empty and `.` segments dropped, `..`
 * resolved, no trailing slash. Null when the encoding is broken.
 */
export function normalPath(raw: string): string[] | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  const out: string[] = [];
  for (const seg of decoded.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out;
}

/** Every declaration of the app, and how a request path finds its own. */
export class RouteTable {
  constructor(readonly declarations: readonly Declaration[]) {}

  /**
   * The declaration a request is judged by: the first (in registration order) whose path
   * matches the normalised request path, letter case ignored — whatever the spelling, the
   * same judgement. `respell` names the declared spelling unless the request already used it
   * (express would route exactly this path, with the same parameters, to this declaration).
   */
  find(method: string, rawPath: string): Matched | 'bad_path' {
    const m = method === 'HEAD' ? 'GET' : method;
    const segments = normalPath(rawPath);
    if (segments === null) return 'bad_path';
    const normal = `/${segments.map(encodeURIComponent).join('/')}`;
    for (const d of this.declarations) {
      if (d.method !== m) continue;
      const found = d.loose(normal);
      if (!found) continue;
      return { declaration: d, respell: asDeclared(d, rawPath, found.params) ? null : d.spell(found.params) };
    }
    return { declaration: null, respell: null };
  }
}

/** Whether express routes this raw path to `d` with these (decoded) parameters. */
function asDeclared(d: Declaration, rawPath: string, params: ParamData): boolean {
  if (rawPath.includes('//') || rawPath.includes('\\') || /%(2f|5c)/i.test(rawPath) || /(^|\/)(\.|%2e){1,2}(\/|$)/i.test(rawPath)) return false;
  const exact = d.exact(rawPath);
  if (!exact) return false;
  for (const [k, v] of Object.entries(exact.params)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(String(v));
    } catch {
      return false;
    }
    if (decoded !== params[k]) return false;
  }
  return true;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What a non-admin is told of an admin route. */
const ADMIN_ONLY = 'Cần khóa API quản trị — this needs an admin API key';
export const isWrite = (method: string) => WRITES.has(method);

/**
 * The one access decision: may this caller use this declaration (null: no route)? Throws
 * 401 (no or no valid key where one is needed) or 403 (a key whose role does not reach).
 */
export function admit(declaration: Declaration | null, method: string, principal: Principal | null, publicReads: boolean): void {
  const access: Access = declaration?.access ?? (isWrite(method) ? 'admin' : 'read');
  if (access === 'public') return;
  if (access === 'read') {
    if (!principal && !publicReads) throw unauthorized('reads need an API key on this service (ZONERISK_PUBLIC_READS=false)');
    return;
  }
  if (!principal) throw unauthorized(access === 'admin' && !isWrite(method) ? ADMIN_ONLY : 'Cần khóa API để ghi — writes need an API key: Authorization: Bearer <key>');
  if (principal.role === 'admin') return;
  if (principal.role === 'reader') throw forbidden(isWrite(method) ? 'Khóa chỉ đọc không được ghi — a reader key cannot write' : ADMIN_ONLY);
  if (access === 'report') return; // a reporter, inside its scope (the write checks it in its transaction)
  throw forbidden(isWrite(method) ? 'Khóa báo cáo chỉ được gửi báo cáo ca mắc và chỉ số — a reporter key may only submit reports and metrics' : ADMIN_ONLY);
}
