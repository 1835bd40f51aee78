import type { Request } from 'express';
import type { Config } from '../config';

/** A host as a proxy may forward it: a DNS name or a bracketed IPv6 literal, an optional port. */
const HOST_RE = /^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

type TrustFn = (addr: string, hop: number) => boolean;

/** The address the request actually arrived on, as a URL authority (never from a header). */
function listeningAddress(req: Request): string {
  const s = req.socket;
  let addr = s.localAddress ?? '127.0.0.1';
  if (addr.startsWith('::ffff:') && addr.includes('.')) addr = addr.slice(7); // IPv4 mapped
  if (addr.includes(':')) addr = `[${addr.replace('%', '%25')}]`;
  return `${addr}:${s.localPort ?? 80}`;
}

/**
 * The origin (with base path, no trailing slash) on which this service's absolute links are
 * built — OGC API links and TileJSON tile URLs. Never the request's `Host`: a client can put
 * anything there, and a link built on it would point a reader (or a cache) elsewhere.
 *
 * 1. `ZONERISK_PUBLIC_URL`, when set: always.
 * 2. Else, when `ZONERISK_TRUST_PROXY` is set and the request came from a trusted proxy
 *    (express's `trust proxy`, set on the app from the same value), that proxy's
 *    `X-Forwarded-Proto` (http or https) and `X-Forwarded-Host` (its first value, if it is a
 *    well-formed host[:port]).
 * 3. Else the address and port the request arrived on, as the socket has them
 *    (`http://127.0.0.1:3000`, `http://192.0.2.7:3000`): absolute links, as OGC clients such
 *    as GDAL need, right for any client that connects directly, and impossible to forge.
 *    Behind a proxy without either setting they name the service's own address.
 */
export function originOf(config: Pick<Config, 'publicUrl' | 'trustProxy'>, req: Request): string {
  if (config.publicUrl !== null) return config.publicUrl;
  if (config.trustProxy !== null) {
    const trusted = req.app.get('trust proxy fn') as TrustFn | undefined;
    const forwarded = req.get('x-forwarded-host')?.split(',')[0]?.trim();
    if (trusted?.(req.socket.remoteAddress ?? '', 0) && forwarded && HOST_RE.test(forwarded)) {
      const proto = req.protocol === 'https' ? 'https' : 'http';
      return `${proto}://${forwarded.toLowerCase()}`;
    }
  }
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${tls ? 'https' : 'http'}://${listeningAddress(req)}`;
}
