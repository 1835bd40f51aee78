import type { Feature, MultiPolygon, Polygon } from 'geojson';

type Props = { code: string; name: string; kind: string; parent?: string | null; population?: number | null };

/** An axis-aligned square polygon, counter-clockwise, lon/lat. */
export function square(x: number, y: number, size: number): Polygon {
  return {
    type: 'Polygon',
    coordinates: [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]],
  };
}

export function feature(props: Props, geometry: Polygon | MultiPolygon | unknown): Feature {
  return { type: 'Feature', properties: props, geometry: geometry as Polygon };
}

export const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });

/**
 * A small province: P ⊃ D1, D2; D1 ⊃ C11, C12; D2 ⊃ C21, C22. Communes are 0.1° squares
 * in a row along latitude 10.
 */
export function smallProvince(): ReturnType<typeof fc> {
  return fc([
    feature({ code: 'P', name: 'Tỉnh Thử Nghiệm', kind: 'province', parent: null, population: 40000 }, square(106, 10, 0.4)),
    feature({ code: 'D1', name: 'Huyện Một', kind: 'district', parent: 'P', population: 20000 }, square(106, 10, 0.2)),
    feature({ code: 'D2', name: 'Huyện Hai', kind: 'district', parent: 'P', population: 20000 }, square(106.2, 10, 0.2)),
    feature({ code: 'C11', name: 'Xã Long Bình', kind: 'commune', parent: 'D1', population: 10000 }, square(106, 10, 0.1)),
    feature({ code: 'C12', name: 'Phường Tân Hòa', kind: 'commune', parent: 'D1', population: 10000 }, square(106.1, 10, 0.1)),
    feature({ code: 'C21', name: 'Xã Đồng Nai', kind: 'commune', parent: 'D2', population: 15000 }, square(106.2, 10, 0.1)),
    feature({ code: 'C22', name: 'Thị trấn Vĩnh An', kind: 'commune', parent: 'D2', population: null }, square(106.3, 10, 0.1)),
  ]);
}

/**
 * An n×n grid of communes under one province, with jagged borders shared exactly between
 * neighbours (each border a wiggling line of `points` positions): simplifying each polygon
 * alone would open gaps along them. Cells are `size`° wide, from (x0, y0); the outer edge
 * of the grid is straight.
 */
export function jaggedGrid(n: number, size = 0.05, points = 40, x0 = 105, y0 = 10): ReturnType<typeof fc> {
  let seed = 42;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const r7 = (v: number) => Math.round(v * 1e7) / 1e7;
  const corner = (i: number, j: number): [number, number] => [r7(x0 + i * size), r7(y0 + j * size)];
  const line = (a: [number, number], b: [number, number], outer: boolean): [number, number][] => {
    const out: [number, number][] = [a];
    const vertical = a[0] === b[0];
    for (let k = 1; k < points; k++) {
      const t = k / points;
      // zero at the corners (sin πt), so that borders meeting there cannot cross
      const wiggle = outer ? 0 : (Math.sin(t * Math.PI * 3) * 0.12 + rnd() * 0.08) * size * Math.sin(Math.PI * t);
      out.push(vertical ? [r7(a[0] + wiggle), r7(a[1] + (b[1] - a[1]) * t)] : [r7(a[0] + (b[0] - a[0]) * t), r7(a[1] + wiggle)]);
    }
    out.push(b);
    return out;
  };
  // each border drawn once, then walked forwards by one neighbour and backwards by the other
  const vertical = new Map<string, [number, number][]>();
  const horizontal = new Map<string, [number, number][]>();
  for (let i = 0; i <= n; i++) for (let j = 0; j < n; j++) vertical.set(`${i},${j}`, line(corner(i, j), corner(i, j + 1), i === 0 || i === n));
  for (let j = 0; j <= n; j++) for (let i = 0; i < n; i++) horizontal.set(`${i},${j}`, line(corner(i, j), corner(i + 1, j), j === 0 || j === n));
  const features = [feature({ code: 'GP', name: 'Tỉnh Lưới', kind: 'province', parent: null, population: n * n * 5000 }, square(x0, y0, n * size))];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const bottom = horizontal.get(`${i},${j}`) as [number, number][];
      const right = vertical.get(`${i + 1},${j}`) as [number, number][];
      const top = [...(horizontal.get(`${i},${j + 1}`) as [number, number][])].reverse();
      const left = [...(vertical.get(`${i},${j}`) as [number, number][])].reverse();
      const ring = [...bottom, ...right.slice(1), ...top.slice(1), ...left.slice(1)];
      features.push(feature({ code: `G${i}_${j}`, name: `Xã Lưới ${i}-${j}`, kind: 'commune', parent: 'GP', population: 5000 + 100 * (i * n + j) }, { type: 'Polygon', coordinates: [ring] }));
    }
  return fc(features);
}

/**
 * A province P (0.4° square at 106, 10) with communes directly under it, one 0.1° square each
 * along latitude 10 from 106, named "Xã <code>", 10,000 people each.
 */
export function provinceOfCommunes(codes: readonly string[]): ReturnType<typeof fc> {
  return fc([
    feature({ code: 'P', name: 'Tỉnh', kind: 'province', parent: null, population: 10000 * codes.length }, square(106, 10, 0.4)),
    ...codes.map((code, i) => feature({ code, name: `Xã ${code}`, kind: 'commune', parent: 'P', population: 10000 }, square(106 + i * 0.1, 10, 0.1))),
  ]);
}
