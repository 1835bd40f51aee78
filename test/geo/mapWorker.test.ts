import { VectorTile } from '@mapbox/vector-tile';
import Protobuf from 'pbf';
import type { Feature, MultiPolygon } from 'geojson';
import { Layer, LayerRows, MapWorker } from '../../src/geo/mapShapes';

const mapWorker = new MapWorker();

/**
 * The map worker thread (geo/mapWorker.ts, run from the build as in production): layers are
 * loaded when missing — once, however many requests ask at the same time — and again after
 * a new version of the areas or a restart of the worker; features and tiles come back whole.
 */
const square = (x: number): MultiPolygon => ({ type: 'MultiPolygon', coordinates: [[[[x, 10], [x + 0.1, 10], [x + 0.1, 10.1], [x, 10.1], [x, 10]]]] });
const rows: LayerRows = [
  { id: 1, g: JSON.stringify(square(106)) },
  { id: 2, g: JSON.stringify(square(106.1)) },
];

function loader(data: LayerRows = rows) {
  const loads: string[] = [];
  return { loads, rows: async (key: string) => (loads.push(key), data) };
}

const prefix = (code: string) => `{"type":"Feature","id":"${code}","properties":{"code":"${code}"},"geometry":`;

async function features(layer: Layer, rowsOf: (key: string) => Promise<LayerRows>): Promise<Feature<MultiPolygon>[]> {
  const bytes = await mapWorker.bytes({ op: 'features', layers: [layer], zoom: 12, layer: [0, 0], ids: [1, 2], prefixes: [prefix('A'), prefix('B')] }, rowsOf);
  return JSON.parse(`[${bytes.toString()}]`) as Feature<MultiPolygon>[];
}

afterAll(() => mapWorker.stop());

describe('map worker', () => {
  test('completes each feature with its simplified geometry; the shared border is the same on both sides', async () => {
    const l = loader();
    const [a, b] = await features({ key: 't1:commune', version: 'v1' }, l.rows);
    expect(a?.id).toBe('A');
    expect(b?.properties).toEqual({ code: 'B' });
    const pointsOf = (f: Feature<MultiPolygon> | undefined) => new Set((f?.geometry.coordinates[0]?.[0] ?? []).map((p) => p.join(',')));
    const shared = [...pointsOf(a)].filter((p) => pointsOf(b).has(p));
    expect(shared.sort()).toEqual(['106.1,10', '106.1,10.1']);
    expect(l.loads).toEqual(['t1:commune']);
  });

  test('a layer is loaded once for requests that find it missing together, and again for a new version', async () => {
    const l = loader();
    const layer = { key: 't2:commune', version: 'v1' };
    await Promise.all([features(layer, l.rows), features(layer, l.rows), features(layer, l.rows)]);
    expect(l.loads).toHaveLength(1);
    await features(layer, l.rows);
    expect(l.loads).toHaveLength(1);
    await features({ ...layer, version: 'v2' }, l.rows);
    expect(l.loads).toHaveLength(2);
  });

  test('after the worker stops, the next request starts it again and reloads the layer', async () => {
    const l = loader();
    const layer = { key: 't3:commune', version: 'v1' };
    const before = await features(layer, l.rows);
    await mapWorker.stop();
    expect(await features(layer, l.rows)).toEqual(before);
    expect(l.loads).toHaveLength(2);
  });

  test('a vector tile holds the features in it with their properties', async () => {
    const l = loader();
    // z12 tile holding lon 106.0–106.09, lat ~10.0–10.09: the first square, a sliver of none else
    const z = 12;
    const x = Math.floor(((106.05 + 180) / 360) * 2 ** z);
    const lat = (10.05 * Math.PI) / 180;
    const y = Math.floor(((1 - Math.log(Math.tan(lat) + 1 / Math.cos(lat)) / Math.PI) / 2) * 2 ** z);
    const bytes = await mapWorker.bytes(
      { op: 'tile', layers: [{ key: 't4:commune', version: 'v1' }], zoom: z, x, y, features: [{ layer: 0, id: 1, properties: { code: 'A', level: 'red' } }, { layer: 0, id: 2, properties: { code: 'B', level: 'green' } }] },
      l.rows,
    );
    const zones = new VectorTile(new Protobuf(bytes)).layers.zones;
    expect(zones).toBeDefined();
    const found = Array.from({ length: zones?.length ?? 0 }, (_, i) => zones?.feature(i).properties);
    expect(found).toContainEqual({ code: 'A', level: 'red' });
    expect(found.every((p) => p?.code === 'A' || p?.code === 'B')).toBe(true);
  });

  test('a layer of many areas arrives in parts: every area has its own geometry, and a load that failed half-way starts over', async () => {
    const many: LayerRows = Array.from({ length: 1234 }, (_, i) => ({ id: i + 1, g: JSON.stringify(square(100 + i * 0.1)) }));
    const ids = [1, 600, 1234];
    const ask = (layer: Layer, rowsOf: (key: string) => Promise<LayerRows>) =>
      mapWorker.bytes({ op: 'features', layers: [layer], zoom: 12, layer: ids.map(() => 0), ids, prefixes: ids.map((id) => prefix(String(id))) }, rowsOf).then((b) => JSON.parse(`[${b.toString()}]`) as Feature<MultiPolygon>[]);
    const westOf = (f: Feature<MultiPolygon> | undefined) => Math.min(...(f?.geometry.coordinates[0]?.[0] ?? []).map((p) => p[0] as number));
    const got = await ask({ key: 't6:commune', version: 'v1' }, loader(many).rows);
    expect(got.map((f) => f.id)).toEqual(['1', '600', '1234']);
    expect(got.map(westOf)).toEqual(ids.map((id) => Math.round((100 + (id - 1) * 0.1) * 1e6) / 1e6));
    // the second part is not geometry: the load fails; then the whole layer loads once, not twice over
    const broken = many.map((r, i) => (i === 700 ? { id: r.id, g: 'not json' } : r));
    await expect(ask({ key: 't7:commune', version: 'v1' }, loader(broken).rows)).rejects.toThrow(/JSON/);
    const again = await ask({ key: 't7:commune', version: 'v1' }, loader(many).rows);
    expect(again.map(westOf)).toEqual(got.map(westOf));
  });

  test('rows that are not geometry fail that request with the reason; the worker keeps serving', async () => {
    const bad = loader([{ id: 1, g: 'not json' }]);
    await expect(features({ key: 't5:commune', version: 'v1' }, bad.rows)).rejects.toThrow(/JSON/);
    const good = loader();
    expect(await features({ key: 't5:commune', version: 'v2' }, good.rows)).toHaveLength(2);
  });
});
