import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { SizedCache } from '../cache';

/**
 * Map bodies kept under their ETag, raw and gzipped (nearly every client takes gzip), each
 * built once however many requests — or a warm-up — ask for it at the same time. The map
 * store of a runtime owns one, so that the warm-up (services/maps.ts warmMaps) and the
 * route answer from the same bodies. Bounded by the bodies' total bytes, least recently
 * used out first. Compression runs on libuv's thread pool: the request thread only waits.
 */
const gzipped = promisify(gzip);

export class KeptMapBodies {
  private readonly kept: SizedCache<Buffer>;
  private readonly building = new Map<string, Promise<Buffer>>();
  constructor(maxBytes: number) {
    this.kept = new SizedCache(maxBytes);
  }

  /** The body under `etag` (gzipped with `gzip`), built by `build` (the raw body) when not kept. */
  body(etag: string, gzip: boolean, build: () => Promise<Buffer>): Promise<Buffer> {
    const raw = () => this.once(etag, build);
    return gzip ? this.once(`${etag}|gzip`, async () => gzipped(await raw())) : raw();
  }

  private once(key: string, make: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.kept.get(key);
    if (hit) return Promise.resolve(hit);
    let p = this.building.get(key);
    if (!p) {
      p = make().then((b) => (this.kept.set(key, b), b));
      this.building.set(key, p);
      const done = () => this.building.delete(key);
      p.then(done, done);
    }
    return p;
  }
}
