import { unprocessable } from '../../errors';

/**
 * GeoPackage geometry blobs and the WKB inside them (OGC 06-103r4 §8.2.3, GeoPackage 1.3
 * §2.1.3), read into GeoJSON. Only what boundaries use: Polygon and MultiPolygon (ISO
 * types 3/6 with 1000/2000/3000 for Z/M/ZM, and the EWKB Z/M/SRID flags), either byte
 * order; Z and M are dropped. Every count is checked against the bytes left before
 * anything is allocated, so a lying count costs nothing.
 */
export type Polygonal = { type: 'Polygon'; coordinates: number[][][] } | { type: 'MultiPolygon'; coordinates: number[][][][] };

export class WkbError extends Error {}

const TYPE_NAMES: Record<number, string> = { 1: 'Point', 2: 'LineString', 3: 'Polygon', 4: 'MultiPoint', 5: 'MultiLineString', 6: 'MultiPolygon', 7: 'GeometryCollection' };

class Reader {
  constructor(private readonly view: DataView, public at: number) {}
  private need(n: number): void {
    if (this.at + n > this.view.byteLength) throw new WkbError(`truncated at byte ${this.at}: ${n} more bytes needed`);
  }
  left(): number {
    return this.view.byteLength - this.at;
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.at++);
  }
  u32(le: boolean): number {
    this.need(4);
    const v = this.view.getUint32(this.at, le);
    this.at += 4;
    return v;
  }
  f64(le: boolean): number {
    this.need(8);
    const v = this.view.getFloat64(this.at, le);
    this.at += 8;
    return v;
  }
}

type Header = { le: boolean; base: number; dims: number };

function header(r: Reader): Header {
  const order = r.u8();
  if (order > 1) throw new WkbError(`byte order ${order} is neither 0 (big endian) nor 1 (little endian)`);
  const le = order === 1;
  const raw = r.u32(le);
  let dims = 2;
  if (raw & 0x80000000) dims++;
  if (raw & 0x40000000) dims++;
  if (raw & 0x20000000) r.u32(le); // EWKB SRID
  let code = raw & 0x0fffffff;
  if (code >= 1000 && code < 4000) {
    const iso = Math.floor(code / 1000);
    dims = iso === 3 ? 4 : 3;
    code %= 1000;
  }
  return { le, base: code, dims };
}

function ring(r: Reader, h: Header): number[][] {
  const n = r.u32(h.le);
  if (n * h.dims * 8 > r.left()) throw new WkbError(`a ring claims ${n} points, more than the bytes left`);
  const pts: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const x = r.f64(h.le);
    const y = r.f64(h.le);
    for (let d = 2; d < h.dims; d++) r.f64(h.le);
    pts[i] = [x, y];
  }
  return pts;
}

function polygon(r: Reader, h: Header): number[][][] {
  const n = r.u32(h.le);
  if (n * 4 > r.left()) throw new WkbError(`a polygon claims ${n} rings, more than the bytes left`);
  const rings: number[][][] = [];
  for (let i = 0; i < n; i++) rings.push(ring(r, h));
  return rings;
}

/** Reads one WKB Polygon or MultiPolygon starting at `offset`. */
export function parseWkb(bytes: Uint8Array, offset = 0): Polygonal {
  const r = new Reader(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);
  const h = header(r);
  if (h.base === 3) return { type: 'Polygon', coordinates: polygon(r, h) };
  if (h.base === 6) {
    const n = r.u32(h.le);
    if (n * 9 > r.left()) throw new WkbError(`a multipolygon claims ${n} polygons, more than the bytes left`);
    const polys: number[][][][] = [];
    for (let i = 0; i < n; i++) {
      const ph = header(r);
      if (ph.base !== 3) throw new WkbError(`a multipolygon holds a ${TYPE_NAMES[ph.base] ?? `type ${ph.base}`}`);
      polys.push(polygon(r, ph));
    }
    return { type: 'MultiPolygon', coordinates: polys };
  }
  throw new WkbError(`${TYPE_NAMES[h.base] ?? `geometry type ${h.base}`} is not a polygon or multipolygon`);
}

const ENVELOPE_BYTES = [0, 32, 48, 48, 64];

/**
 * A GeoPackage geometry blob: "GP", version, flags (bit 0 byte order of the header,
 * bits 1–3 envelope kind, bit 4 empty), srs_id, envelope, then WKB. An empty geometry is null.
 */
export function parseGpkgGeometry(blob: Uint8Array): { srsId: number; geometry: Polygonal | null } {
  if (blob.length < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) throw new WkbError('not a GeoPackage geometry (no "GP" magic)');
  const flags = blob[3] as number;
  const envelope = ENVELOPE_BYTES[(flags >> 1) & 7];
  if (envelope === undefined) throw new WkbError(`envelope indicator ${(flags >> 1) & 7} is invalid`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const srsId = view.getInt32(4, (flags & 1) === 1);
  if (flags & 0x10) return { srsId, geometry: null };
  if (8 + envelope >= blob.length) throw new WkbError('the geometry blob ends before its WKB');
  return { srsId, geometry: parseWkb(blob, 8 + envelope) };
}

/** WKB problems as a 422 naming the feature. */
export const wkbRefusal = (where: string, e: unknown) =>
  unprocessable(`Hình học không đọc được — the geometry of ${where} cannot be read: ${e instanceof Error ? e.message : String(e)}`, [{ path: where, message: e instanceof Error ? e.message : String(e) }], 'unreadable_geometry');
