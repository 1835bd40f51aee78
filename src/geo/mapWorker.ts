import { parentPort } from 'node:worker_threads';
import type { MultiPolygon } from 'geojson';
import { Shape, SharedBorders } from './simplify';
import { encodeTile, TileFeature } from './tiles';
import type { MapReply, MapRequest } from './mapShapes';

/**
 * The map worker thread: it owns the shared-border topologies (millions of points) and
 * does the CPU-heavy part of every simplified map answer — simplifying for a zoom, writing
 * GeoJSON geometry, encoding vector tiles — so that the request thread, and its garbage
 * collector, never carry either. Geometry for a zoom is kept as GeoJSON text per area:
 * strings cost the collector nothing to walk.
 */
type Topology = { version: string; borders: SharedBorders; zooms: Map<number, Map<number, string>> };
const topologies = new Map<string, Topology>();
const ZOOMS_KEPT = 8;
/** Layers whose parts are arriving (see MapRequest 'load'), by key|version. */
const loading = new Map<string, Shape[]>();

function shapesAt(t: Topology, zoom: number): Map<number, string> {
  let atZoom = t.zooms.get(zoom);
  if (!atZoom) {
    atZoom = new Map();
    for (const [id, g] of t.borders.at(zoom)) atZoom.set(id, JSON.stringify(g));
    if (t.zooms.size >= ZOOMS_KEPT) t.zooms.delete(t.zooms.keys().next().value as number);
    t.zooms.set(zoom, atZoom);
  }
  return atZoom;
}

function answer(m: MapRequest): { reply: MapReply; transfer?: ArrayBuffer[] } {
  if (m.op === 'load') {
    // the parts of a layer arrive in order, the first starting over (a load that failed half-way, another version)
    const name = `${m.key}|${m.version}`;
    if (m.first) for (const k of loading.keys()) if (k.startsWith(`${m.key}|`)) loading.delete(k);
    let parts = loading.get(name);
    if (!parts) {
      if (!m.first) throw new Error(`a part of layer ${m.key} without its first`);
      parts = [];
      loading.set(name, parts);
    }
    for (const r of m.rows) parts.push({ id: r.id, geometry: JSON.parse(r.g) as MultiPolygon });
    if (m.done) {
      loading.delete(name);
      topologies.set(m.key, { version: m.version, borders: new SharedBorders(parts), zooms: new Map() });
    }
    return { reply: { id: m.id, ok: true } };
  }
  const layers: Topology[] = [];
  for (const l of m.layers) {
    const t = topologies.get(l.key);
    if (!t || t.version !== l.version) return { reply: { id: m.id, missing: l } };
    layers.push(t);
  }
  const shapes = (layer: number) => shapesAt(layers[layer] as Topology, m.zoom);
  let bytes: Uint8Array;
  if (m.op === 'features') {
    // each prefix is a Feature up to its geometry: `{"type":"Feature",…,"geometry":`
    const parts = m.prefixes.map((prefix, i) => `${prefix}${shapes(m.layer[i] as number).get(m.ids[i] as number) ?? 'null'}}`);
    bytes = Buffer.from(parts.join(','));
  } else {
    const features: TileFeature[] = m.features.map((f) => ({
      type: 'Feature',
      id: f.id,
      properties: f.properties,
      geometry: JSON.parse(shapes(f.layer).get(f.id) ?? '{"type":"MultiPolygon","coordinates":[]}') as MultiPolygon,
    }));
    bytes = encodeTile(features, m.zoom, m.x, m.y);
  }
  // hand the bytes over rather than copy them (a country's GeoJSON is megabytes); a view into
  // a shared pool (small buffers) is copied into an array of its own first
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
  return { reply: { id: m.id, bytes: own }, transfer: [own.buffer as ArrayBuffer] };
}

parentPort?.on('message', (m: MapRequest) => {
  let out: { reply: MapReply; transfer?: ArrayBuffer[] };
  try {
    out = answer(m);
  } catch (e) {
    out = { reply: { id: m.id, error: e instanceof Error ? e.message : String(e) } };
  }
  parentPort?.postMessage(out.reply, out.transfer ?? []);
});
