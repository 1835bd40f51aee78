import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../paths';

/**
 * The request side of the map worker (see mapWorker.ts): simplified GeoJSON features and
 * vector tiles are made there, from topologies it keeps. A topology is named by a layer —
 * a key (database and area kind) and the version of the areas it was built from; a request
 * naming a layer the worker lacks (first use, new areas, a restarted worker) is answered
 * "missing", and the layer is loaded from the database and the request sent again.
 */
export type Layer = { key: string; version: string };
export type LayerRows = { id: number; g: string }[];
/**
 * Where a layer's areas come from: all at once, or in parts as the database gives them (a
 * country's 100 MB of GeoJSON text held at once on the request thread costs it a
 * collector pause of hundreds of milliseconds; part by part, a part at a time).
 */
export type LayerSource = (key: string) => Promise<LayerRows> | AsyncIterable<LayerRows>;

type Items = { layers: Layer[]; zoom: number };
export type MapRequest =
  /** A layer's areas, in parts (a country's is 100 MB of text: one message would stop the request thread for the copy); the first has `first`, the last `done`. */
  | { id: number; op: 'load'; key: string; version: string; rows: LayerRows; first: boolean; done: boolean }
  /** Features up to their geometry (`prefixes`), completed with each area's simplified geometry and joined with commas. */
  | ({ id: number; op: 'features'; layer: number[]; ids: number[]; prefixes: string[] } & Items)
  | ({ id: number; op: 'tile'; x: number; y: number; features: { layer: number; id: number; properties: Record<string, string | number> }[] } & Items);
export type MapReply = { id: number; ok: true } | { id: number; missing: Layer } | { id: number; bytes: Uint8Array } | { id: number; error: string };

type Ask = MapRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

// compiled, the worker is this file's sibling; under ts-jest the build's copy runs (npm test builds first)
const WORKER_FILE = __filename.endsWith('.js') ? path.join(__dirname, 'mapWorker.js') : path.join(projectRoot, 'dist', 'src', 'geo', 'mapWorker.js');

/** Areas per part of a layer sent to the worker (a few MB of text: the copy takes milliseconds). */
const LOAD_PART = 500;

/** The map worker thread of one runtime (src/runtime.ts owns it; started at its first use). */
export class MapWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (r: MapReply) => void; reject: (e: Error) => void }>();
  private readonly loading = new Map<string, Promise<void>>();
  private nextId = 1;

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_FILE);
    w.on('message', (r: MapReply) => {
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      p?.resolve(r);
    });
    const lost = (e: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.loading.clear();
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', lost);
    w.on('exit', (code) => lost(new Error(`the map worker stopped (exit code ${code})`)));
    w.unref();
    this.worker = w;
    return w;
  }

  private ask(request: Ask): Promise<MapReply> {
    const w = this.thread();
    const id = this.nextId++;
    // an idle worker must not keep a finished process alive; a busy one must
    if (this.pending.size === 0) w.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...request, id });
    });
  }

  /** Loads a layer once, however many requests find it missing at the same time. */
  private load(layer: Layer, rows: LayerSource): Promise<void> {
    const name = `${layer.key}|${layer.version}`;
    let p = this.loading.get(name);
    if (!p) {
      p = (async () => {
        let first = true;
        const send = async (part: LayerRows, done: boolean) => {
          const reply = await this.ask({ op: 'load', key: layer.key, version: layer.version, rows: part, first, done });
          first = false;
          if ('error' in reply) throw new Error(reply.error);
        };
        const source = rows(layer.key);
        if (Symbol.asyncIterator in source) {
          for await (const chunk of source) for (let start = 0; start < chunk.length; start += LOAD_PART) await send(chunk.slice(start, start + LOAD_PART), false);
          await send([], true);
          return;
        }
        const all = await source;
        for (let start = 0; start === 0 || start < all.length; start += LOAD_PART) await send(all.slice(start, start + LOAD_PART), start + LOAD_PART >= all.length);
      })();
      this.loading.set(name, p);
      p.catch(() => undefined).finally(() => this.loading.delete(name));
    }
    return p;
  }

  /** The worker's answer as bytes, loading whatever layer it lacks (each at most once per request). */
  async bytes(request: Ask & Items, rows: LayerSource): Promise<Buffer> {
    for (let attempt = 0; attempt <= request.layers.length; attempt++) {
      const reply = await this.ask(request);
      if ('bytes' in reply) return Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength);
      if ('error' in reply) throw new Error(`map worker: ${reply.error}`);
      if ('missing' in reply) await this.load(reply.missing, rows);
    }
    throw new Error('map worker: a layer could not be loaded');
  }

  /** Makes sure a layer is loaded (a country's topology takes seconds: ahead of the first map request). */
  async warm(layer: Layer, rows: LayerSource): Promise<void> {
    await this.bytes({ op: 'features', layers: [layer], zoom: 0, layer: [], ids: [], prefixes: [] }, rows);
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
