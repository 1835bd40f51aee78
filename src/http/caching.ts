import { Request, Response } from 'express';
import { SizedCache } from '../cache';

export { SizedCache };

/**
 * Conditional GETs for map responses: sets the ETag and the cache policy, and answers 304
 * when the client's If-None-Match names the tag (weak comparison, RFC 9110 §13.1.2).
 * Returns true when the response is done.
 */
export function notModified(req: Request, res: Response, etag: string): boolean {
  res.setHeader('ETag', etag);
  // revalidate often (levels change with every recomputation); a 304 costs a few queries. An
  // answer to a request with a key is the browser's only: no shared cache may hand it to
  // someone without one (with private reads, the page sends its key with every tile)
  res.setHeader('Cache-Control', `${req.headers.authorization ? 'private' : 'public'}, max-age=60, must-revalidate`);
  if (!clientHas(req, etag)) return false;
  res.status(304).end();
  return true;
}

/** The client's If-None-Match names the tag (weak comparison, RFC 9110 §13.1.2). */
function clientHas(req: Request, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  return header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

/**
 * A JSON answer under an ETag: 304 when the client has it, else the body built once per tag
 * and kept in `bodies` (the runtime's; bounded, oldest out first), so that a hot read — one commune asked for by every
 * screen of a command centre — costs a lookup rather than queries. `no-cache`: clients
 * revalidate every time (an override must show at once), which a 304 makes cheap.
 */
export async function cachedJson(bodies: SizedCache<string>, req: Request, res: Response, etag: string, build: () => Promise<unknown>): Promise<void> {
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'no-cache');
  if (clientHas(req, etag)) {
    res.status(304).end();
    return;
  }
  let body = bodies.get(etag);
  if (body === undefined) {
    body = JSON.stringify(await build());
    bodies.set(etag, body);
  }
  res.type('application/json').send(body);
}
