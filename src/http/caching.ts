import { Request, Response } from 'express';

/**
 * Conditional GETs for map responses: sets the ETag and the cache policy, and answers 304
 * when the client's If-None-Match names the tag (weak comparison, RFC 9110 §13.1.2).
 * Returns true when the response is done.
 */
export function notModified(req: Request, res: Response, etag: string): boolean {
  res.setHeader('ETag', etag);
  // revalidate often (levels change with every recomputation); a 304 costs a few queries
  res.setHeader('Cache-Control', 'public, max-age=60, must-revalidate');
  const header = req.headers['if-none-match'];
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  if (header.trim() !== '*' && !header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare)) return false;
  res.status(304).end();
  return true;
}

/** This service's origin as the client reached it (links in TileJSON and OGC documents). */
export function origin(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}
