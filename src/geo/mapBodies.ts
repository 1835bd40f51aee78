import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

/**
 * Map bodies kept under their ETag, raw and gzipped (nearly every client takes gzip), each
 * built once however many requests — or a warm-up — ask for it at the same time. The map
 * store of a runtime owns one, so that the warm-up (services/maps.ts warmMaps) and the
 * route answer from the same bodies. Bounded by the bodies' total bytes, least recently
 * used out first. Compression runs on libuv's thread pool: the request thread only waits.
 */
const gzipped = promisify(gzip);

export class KeptMapBodies {
  private readonly kept = new Map<string, Buffer>();
  private readonly building = new Map<string, Promise<Buffer>>();
  private size = 0;
  constructor(private readonly maxBytes: number) {}

  /** The body under `etag` (gzipped with `gzip`), built by `build` (the raw body) when not kept. */
  body(etag: string, gzip: boolean, build: () => Promise<Buffer>): Promise<Buffer> {
    const raw = () => this.once(etag, build);
    return gzip ? this.once(`${etag}|gzip`, async () => gzipped(await raw())) : raw();
  }

  private once(key: string, make: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.kept.get(key);
    if (hit) {
      this.kept.delete(key);
      this.kept.set(key, hit);
      return Promise.resolve(hit);
    }
    let p = this.building.get(key);
    if (!p) {
      p = make().then((b) => (this.keep(key, b), b));
      this.building.set(key, p);
      const done = () => this.building.delete(key);
      p.then(done, done);
    }
    return p;
  }

  private keep(key: string, b: Buffer): void {
    const old = this.kept.get(key);
    if (old) this.size -= old.length;
    this.kept.delete(key);
    this.kept.set(key, b);
    this.size += b.length;
    for (const [k, v] of this.kept) {
      if (this.size <= this.maxBytes) break;
      this.kept.delete(k);
      this.size -= v.length;
    }
  }
}
