import { LEVEL_INFO, LevelOrUnknown } from './levels';
import { viNumber } from './briefing';
import { escapeHtml } from './html';

/**
 * The briefing's static map (pure): the communes of an area in their level colours, district
 * outlines over them, a legend below — as an SVG string for the HTML page, and as the same
 * drawing (SVG path data in box units) for the PDF, which draws the paths itself.
 *
 * Projection: equirectangular with the longitudes scaled by cos(middle latitude), fitted to a
 * box `width` units wide (the height follows the area's shape, at most `maxHeight`), y down.
 * Coordinates are rounded to whole units (the box's pixel grid), repeated points dropped; a
 * commune whose rings collapse at that size is drawn as a one-unit square, so that every
 * commune has exactly one path. The geometry is expected simplified already (a tolerance of
 * about one unit: services/briefingMap.ts), so the drawing's size follows the box, not the
 * stored detail.
 */

/** A polygon: rings of [lon, lat] (the first exterior). */
export type Rings = number[][][];

export type MapArea = { code: string; name: string; level: LevelOrUnknown; polygons: Rings[] };
export type MapOutline = { code: string; polygons: Rings[] };

export type MapDrawing = {
  /** the box (units; the SVG's viewBox, the PDF's scale): the map, then the legend's band */
  width: number;
  height: number;
  /** the map's height within the box (the legend is drawn below it) */
  mapHeight: number;
  communes: { code: string; name: string; level: LevelOrUnknown; color: string; d: string }[];
  districts: { code: string; d: string }[];
  legend: { level: LevelOrUnknown; color: string; label: string; label_en: string; areas: number }[];
};

export const MAP_WIDTH = 1000;
export const MAP_MAX_HEIGHT = 1000;
export const LEGEND_HEIGHT = 44;
const PAD = 8;
/** Communes named in tooltips at most (beyond, the SVG would carry more names than shapes). */
const MAX_TITLED = 3000;

const LEGEND_ORDER: LevelOrUnknown[] = ['red', 'orange', 'yellow', 'green', 'unknown'];
const LEGEND_WORD: Record<LevelOrUnknown, { vi: string; en: string }> = {
  red: { vi: 'Cấp 4 (đỏ)', en: 'level 4 (red)' },
  orange: { vi: 'Cấp 3 (cam)', en: 'level 3 (orange)' },
  yellow: { vi: 'Cấp 2 (vàng)', en: 'level 2 (yellow)' },
  green: { vi: 'Cấp 1 (xanh)', en: 'level 1 (green)' },
  unknown: { vi: 'Chưa đủ dữ liệu', en: 'not enough data' },
};

/** The extent [minLon, minLat, maxLon, maxLat] of the polygons (null: none). */
export function extentOf(areas: readonly { polygons: Rings[] }[]): [number, number, number, number] | null {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const a of areas)
    for (const p of a.polygons)
      for (const ring of p)
        for (const c of ring) {
          const x = c[0] as number;
          const y = c[1] as number;
          if (x < x1) x1 = x;
          if (x > x2) x2 = x;
          if (y < y1) y1 = y;
          if (y > y2) y2 = y;
        }
  return x1 <= x2 && y1 <= y2 ? [x1, y1, x2, y2] : null;
}

/** Rounded, repeated points dropped; null for a ring of fewer than three distinct points. */
function ringPath(ring: number[][], project: (c: number[]) => [number, number]): string | null {
  const pts: [number, number][] = [];
  for (const c of ring) {
    const p = project(c);
    const last = pts[pts.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) pts.push(p);
  }
  const first = pts[0];
  const last = pts[pts.length - 1];
  if (first && last && pts.length > 1 && first[0] === last[0] && first[1] === last[1]) pts.pop();
  if (pts.length < 3) return null;
  // relative moves after the first point: shorter, and exact (the points are on the grid already)
  let d = `M${pts[0]?.[0]} ${pts[0]?.[1]}l`;
  for (let i = 1; i < pts.length; i++) {
    const p = pts[i] as [number, number];
    const q = pts[i - 1] as [number, number];
    d += `${i > 1 ? ' ' : ''}${p[0] - q[0]} ${p[1] - q[1]}`;
  }
  return `${d}z`;
}

/** The drawing of `communes` (and `districts` outlined) fitted to a box `width` units wide. */
export function drawMap(communes: readonly MapArea[], districts: readonly MapOutline[], width = MAP_WIDTH, maxHeight = MAP_MAX_HEIGHT): MapDrawing {
  const counts = new Map<LevelOrUnknown, number>();
  for (const c of communes) counts.set(c.level, (counts.get(c.level) ?? 0) + 1);
  const legend = LEGEND_ORDER.filter((l) => (counts.get(l) ?? 0) > 0).map((l) => ({ level: l, color: LEVEL_INFO[l].color, label: LEGEND_WORD[l].vi, label_en: LEGEND_WORD[l].en, areas: counts.get(l) ?? 0 }));
  const e = extentOf(communes);
  if (!e) return { width, height: LEGEND_HEIGHT, mapHeight: 0, communes: [], districts: [], legend };
  const [x1, y1, x2, y2] = e;
  const k = Math.cos((((y1 + y2) / 2) * Math.PI) / 180);
  const spanX = Math.max((x2 - x1) * k, 1e-9);
  const spanY = Math.max(y2 - y1, 1e-9);
  const scale = Math.min((width - 2 * PAD) / spanX, (maxHeight - 2 * PAD) / spanY);
  const mapHeight = Math.ceil(spanY * scale + 2 * PAD);
  const offX = (width - spanX * scale) / 2;
  const project = (c: number[]): [number, number] => [Math.round(offX + ((c[0] as number) - x1) * k * scale), Math.round(PAD + (y2 - (c[1] as number)) * scale)];
  const pathOf = (polygons: Rings[]): string => {
    let d = '';
    for (const p of polygons) for (const ring of p) d += ringPath(ring, project) ?? '';
    return d;
  };
  const drawn = communes.map((c) => {
    let d = pathOf(c.polygons);
    if (d === '') {
      // too small for the box: a one-unit square where it is
      const ring = c.polygons[0]?.[0];
      const [px, py] = ring?.[0] ? project(ring[0]) : [0, 0];
      d = `M${px} ${py}h1v1h-1z`;
    }
    return { code: c.code, name: c.name, level: c.level, color: LEVEL_INFO[c.level].color, d };
  });
  const outlines = districts.map((o) => ({ code: o.code, d: pathOf(o.polygons) })).filter((o) => o.d !== '');
  return { width, height: mapHeight + LEGEND_HEIGHT, mapHeight, communes: drawn, districts: outlines, legend };
}

/**
 * The drawing as an SVG document fragment: one `<path class="commune">` per commune (its
 * level's fill, its name and level as a tooltip), district outlines, the legend with the
 * number of communes per level. Every text is escaped.
 */
export function mapSvg(m: MapDrawing, label: string): string {
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${m.width} ${m.height}" width="100%" role="img" aria-label="${escapeHtml(label)}" class="briefing-map">`);
  out.push(`<title>${escapeHtml(label)}</title>`);
  out.push('<g stroke="#ffffff" stroke-width="0.6" stroke-linejoin="round">');
  // a tooltip per commune while they are few enough to point at (a country's would be 0.4 MB of names)
  const titled = m.communes.length <= MAX_TITLED;
  for (const c of m.communes) {
    const title = titled ? `<title>${escapeHtml(c.name)} — ${escapeHtml(LEGEND_WORD[c.level].vi)}</title>` : '';
    out.push(`<path class="commune" data-code="${escapeHtml(c.code)}" fill="${c.color}" d="${c.d}">${title}</path>`);
  }
  out.push('</g>');
  if (m.districts.length) {
    out.push('<g fill="none" stroke="#333333" stroke-width="1.6" stroke-linejoin="round">');
    for (const o of m.districts) out.push(`<path class="district" data-code="${escapeHtml(o.code)}" d="${o.d}"/>`);
    out.push('</g>');
  }
  const y = m.mapHeight + 12;
  const step = m.width / Math.max(m.legend.length, 1);
  out.push(`<g class="legend" font-family="DejaVu Sans, Arial, sans-serif" font-size="15">`);
  m.legend.forEach((l, i) => {
    const x = PAD + i * step;
    out.push(`<rect x="${Math.round(x)}" y="${y}" width="22" height="16" fill="${l.color}" stroke="#555" stroke-width="0.5"/>`);
    out.push(`<text x="${Math.round(x + 28)}" y="${y + 13}">${escapeHtml(l.label)}: ${viNumber(l.areas)}</text>`);
    out.push(`<text x="${Math.round(x + 28)}" y="${y + 29}" font-size="11" fill="#555">${escapeHtml(l.label_en)}</text>`);
  });
  out.push('</g></svg>');
  return out.join('\n');
}
