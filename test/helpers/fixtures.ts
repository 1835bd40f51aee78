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
