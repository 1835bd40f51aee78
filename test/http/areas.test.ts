import type { Test } from 'supertest';
import { feature, fc, smallProvince, square } from '../helpers/fixtures';
import { rowCounts, testContext } from '../helpers/context';

const ctx = testContext();
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const post = (body: unknown, type = 'application/json') =>
  ctx.http().post('/v1/areas').set('Content-Type', type).send(typeof body === 'string' ? body : JSON.stringify(body));

async function codes(query: string): Promise<string[]> {
  const res = await ctx.http().get(`/v1/areas?${query}`).expect(200);
  return (res.body.items as { code: string }[]).map((i) => i.code);
}

describe('POST /v1/areas', () => {
  test('imports a hierarchy, re-import is unchanged, a change is an update', async () => {
    const body = smallProvince();
    expect((await post(body).expect(200)).body).toMatchObject({ created: 7, updated: 0, unchanged: 0 });
    expect((await post(body, 'application/geo+json').expect(200)).body).toMatchObject({ created: 0, updated: 0, unchanged: 7 });

    const changed = smallProvince();
    (changed.features[3] as { properties: { population: number } }).properties.population = 12345;
    (changed.features[4] as { geometry: unknown }).geometry = square(106.1, 10, 0.09);
    expect((await post(changed).expect(200)).body).toMatchObject({ created: 0, updated: 2, unchanged: 5 });
    const c11 = await ctx.http().get('/v1/areas/C11').expect(200);
    expect(c11.body.properties.population).toBe(12345);
  });

  test('an update takes no id: after re-imports that change areas, a new area takes the next id (no gaps)', async () => {
    await post(smallProvince()).expect(200);
    const ids = async () => (await ctx.db.knex.raw<{ rows: { code: string; id: number }[] }>('SELECT code, id FROM areas ORDER BY id')).rows;
    const before = await ids();
    const changed = smallProvince();
    for (const f of changed.features as { properties: { population: number | null } }[]) f.properties.population = 777;
    expect((await post(changed).expect(200)).body).toMatchObject({ created: 0, updated: 7 });
    expect((await post(fc([...changed.features, feature({ code: 'C23', name: 'Xã Mới', kind: 'commune', parent: 'D2', population: 5000 }, square(106.3, 10.1, 0.1))])).expect(200)).body).toMatchObject({ created: 1, unchanged: 7 });
    const after = await ids();
    expect(after.slice(0, 7)).toEqual(before); // the same areas keep their ids
    expect(after[7]).toEqual({ code: 'C23', id: Math.max(...before.map((r) => r.id)) + 1 });
    const c11 = await ctx.http().get('/v1/areas/C11').expect(200);
    expect(c11.body.properties.population).toBe(777);
  });

  test('children may come before their parents in one import', async () => {
    const body = smallProvince();
    body.features.reverse();
    expect((await post(body).expect(200)).body).toMatchObject({ created: 7 });
    const list = await ctx.http().get('/v1/areas?kind=commune').expect(200);
    expect(list.body.items).toEqual([
      { code: 'C11', name: 'Xã Long Bình', kind: 'commune', parent: 'D1', population: 10000, valid_from: null, valid_to: null },
      { code: 'C12', name: 'Phường Tân Hòa', kind: 'commune', parent: 'D1', population: 10000, valid_from: null, valid_to: null },
      { code: 'C21', name: 'Xã Đồng Nai', kind: 'commune', parent: 'D2', population: 15000, valid_from: null, valid_to: null },
      { code: 'C22', name: 'Thị trấn Vĩnh An', kind: 'commune', parent: 'D2', population: null, valid_from: null, valid_to: null },
    ]);
  });

  test('moving an area to another parent is an update', async () => {
    await post(smallProvince()).expect(200);
    const moved = fc([feature({ code: 'C12', name: 'Phường Tân Hòa', kind: 'commune', parent: 'D2', population: 10000 }, square(106.1, 10, 0.1))]);
    expect((await post(moved).expect(200)).body).toMatchObject({ updated: 1 });
    expect(await codes('parent=D2')).toEqual(['C12', 'C21', 'C22']);
  });

  test('clockwise rings are normalised to RFC 7946 winding, not rejected', async () => {
    const cw = { type: 'Polygon', coordinates: [[[106, 10], [106, 10.1], [106.1, 10.1], [106.1, 10], [106, 10]]] };
    await post(fc([feature({ code: 'CW', name: 'Xã Thuận', kind: 'commune' }, cw)])).expect(200);
    const res = await ctx.http().get('/v1/areas/CW').expect(200);
    const ring = res.body.geometry.coordinates[0][0] as [number, number][];
    let twiceArea = 0;
    for (let i = 0; i < ring.length - 1; i++) twiceArea += ring[i]![0] * ring[i + 1]![1] - ring[i + 1]![0] * ring[i]![1];
    expect(twiceArea).toBeGreaterThan(0);
  });

  test('overlaps between neighbours are warnings, not errors', async () => {
    const body = fc([
      feature({ code: 'A', name: 'Xã A', kind: 'commune' }, square(106, 10, 0.1)),
      feature({ code: 'B', name: 'Xã B', kind: 'commune' }, square(106.09, 10, 0.1)),
      feature({ code: 'F', name: 'Xã F', kind: 'commune' }, square(107, 10, 0.1)),
    ]);
    const res = await post(body).expect(200);
    expect(res.body.created).toBe(3);
    expect(res.body.overlaps).toBe(1);
    expect(res.body.warnings).toHaveLength(1);
    expect(res.body.warnings[0]).toMatchObject({ code: 'overlap', areas: ['A', 'B'] });
    // 0.01° × 0.1° at 10°N ≈ 1.09 km × 11.06 km ≈ 12.1 km²
    expect(res.body.warnings[0].overlap_m2).toBeGreaterThan(11e6);
    expect(res.body.warnings[0].overlap_m2).toBeLessThan(13e6);
    // new populations and names of the same shapes: the overlap is not this import's doing, and is not looked for
    const renamed = fc((body.features as { properties: Record<string, unknown>; geometry: unknown }[]).map((f) => ({ ...f, properties: { ...f.properties, population: 999, name: `${f.properties.name as string} mới` } })));
    expect((await post(renamed).expect(200)).body).toMatchObject({ updated: 3, overlaps: 0, warnings: [] });
    // a new shape of F that reaches B: that pair is reported, and A–B (neither reshaped) is not
    const reshaped = fc((renamed.features as { properties: Record<string, unknown>; geometry: unknown }[]).map((f) => (f.properties.code === 'F' ? { ...f, geometry: square(106.18, 10, 0.1) } : f)));
    const again = await post(reshaped).expect(200);
    expect(again.body).toMatchObject({ updated: 1, overlaps: 1 });
    expect(again.body.warnings.map((w: { areas: string[] }) => [...w.areas].sort())).toEqual([['B', 'F']]);
  });
});

describe('POST /v1/areas rejects bad input and writes nothing', () => {
  const bowtie = { type: 'Polygon', coordinates: [[[106, 10], [106.1, 10.1], [106.1, 10], [106, 10.1], [106, 10]]] };
  const holeOutside = {
    type: 'Polygon',
    coordinates: [
      [[106, 10], [106.1, 10], [106.1, 10.1], [106, 10.1], [106, 10]],
      [[106.2, 10.2], [106.3, 10.2], [106.3, 10.3], [106.2, 10.3], [106.2, 10.2]],
    ],
  };
  const good = feature({ code: 'OK1', name: 'Xã Tốt', kind: 'commune' }, square(106, 11, 0.1));
  const one = (props: Record<string, unknown>, geometry: unknown) => fc([good, { type: 'Feature', properties: { code: 'X1', name: 'Xã X', kind: 'commune', ...props }, geometry }]);

  type Case = [string, () => Test, number, string, RegExp];
  const cases: Case[] = [
    ['self-intersection', () => post(one({}, bowtie)), 422, 'features[1].geometry.coordinates', /X1: self-intersection/],
    ['unclosed ring', () => post(one({}, { type: 'Polygon', coordinates: [[[106, 10], [106.1, 10], [106.1, 10.1], [106, 10.1]]] })), 422, 'features[1].geometry.coordinates[0]', /not closed/],
    ['too few points', () => post(one({}, { type: 'Polygon', coordinates: [[[106, 10], [106.1, 10], [106, 10]]] })), 422, 'features[1].geometry.coordinates[0]', /at least 4 positions/],
    ['coordinates outside lon/lat', () => post(one({}, square(600000, 1200000, 1000))), 422, 'features[1].geometry.coordinates[0][0]', /longitude 600000 is outside/],
    ['wrong geometry type', () => post(one({}, { type: 'LineString', coordinates: [[106, 10], [107, 11]] })), 422, 'features[1].geometry.type', /"LineString" is not allowed/],
    ['hole outside its shell (PostGIS check)', () => post(one({}, holeOutside)), 422, 'features[1].geometry', /X1: Hole lies outside shell/],
    ['unknown parent', () => post(one({ parent: 'NOPE' }, square(106, 10, 0.1))), 422, 'features[1].properties.parent', /unknown parent area NOPE/],
    ['duplicate code', () => post(fc([good, good])), 422, 'features[1].properties.code', /duplicate code OK1/],
    ['bad code characters', () => post(one({ code: 'a b/c' }, square(106, 10, 0.1))), 422, 'features[1].properties.code', /A-Z a-z 0-9/],
    ['missing name', () => post(one({ name: undefined }, square(106, 10, 0.1))), 422, 'features[1].properties.name', /string/],
    ['unknown kind', () => post(one({ kind: 'village' }, square(106, 10, 0.1))), 422, 'features[1].properties.kind', /must be one of province, district, commune, subcommune/],
    ['negative population', () => post(one({ population: -5 }, square(106, 10, 0.1))), 422, 'features[1].properties.population', /≥ 0/],
    ['fractional population', () => post(one({ population: 10.5 }, square(106, 10, 0.1))), 422, 'features[1].properties.population', /whole number/],
    ['not a FeatureCollection', () => post({ type: 'Feature' }), 422, 'type', /FeatureCollection/],
    ['malformed JSON', () => post('{"type": "FeatureCollection", '), 400, '', /not valid JSON/],
    ['wrong content type', () => post('code,name', 'text/csv'), 415, 'Content-Type', /application\/json/],
  ];

  test.each(cases)('%s', async (_name, send, status, path, message) => {
    await post(smallProvince()).expect(200);
    const before = await rowCounts(ctx.db);
    const res = await send().expect(status);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(typeof res.body.error.code).toBe('string');
    const texts = [res.body.error.message, ...res.body.error.details.map((d: { message: string }) => d.message)].join(' | ');
    expect(texts).toMatch(message);
    if (path) expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  test('a parent of a lower kind is refused', async () => {
    await post(smallProvince()).expect(200);
    const before = await rowCounts(ctx.db);
    const res = await post(fc([feature({ code: 'D9', name: 'Huyện Chín', kind: 'district', parent: 'C11' }, square(106, 10, 0.05))])).expect(422);
    expect(res.body.error.details[0]).toMatchObject({ path: 'features[0].properties.parent' });
    expect(res.body.error.details[0].message).toMatch(/a district cannot have a commune \(C11\) as parent/);
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  test('a body over the configured limit is 413', async () => {
    const small = testContext({ bodyLimitBytes: 500 });
    try {
      const res = await small.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(413);
      expect(res.body.error.code).toBe('payload_too_large');
    } finally {
      await small.close();
    }
  });

  test('every invalid feature is reported at once', async () => {
    const res = await post(fc([
      feature({ code: 'B1', name: 'Xã B', kind: 'commune' }, bowtie),
      feature({ code: 'B2', name: '', kind: 'commune' }, square(106, 10, 0.1)),
      feature({ code: 'B3', name: 'Xã C', kind: 'commune' }, { type: 'Point', coordinates: [1, 2] }),
    ])).expect(422);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual([
      'features[0].geometry.coordinates',
      'features[1].properties.name',
      'features[2].geometry.type',
    ]);
  });
});

describe('GET /v1/areas', () => {
  beforeEach(async () => {
    await post(smallProvince()).expect(200);
  });

  test('filters by kind and parent', async () => {
    expect(await codes('kind=district')).toEqual(['D1', 'D2']);
    expect(await codes('parent=D1')).toEqual(['C11', 'C12']);
    expect(await codes('parent=P&kind=district')).toEqual(['D1', 'D2']);
    const res = await ctx.http().get('/v1/areas?parent=NOPE').expect(422);
    expect(res.body.error.details[0].path).toBe('parent');
  });

  test('filters by bbox (intersection)', async () => {
    expect(await codes('kind=commune&bbox=106.0,10.0,106.15,10.05')).toEqual(['C11', 'C12']);
    expect(await codes('kind=commune&bbox=106.31,10.01,106.39,10.09')).toEqual(['C22']);
    expect(await codes('bbox=100,0,101,1')).toEqual([]);
  });

  test('searches names without case or diacritics', async () => {
    expect(await codes('q=long%20binh')).toEqual(['C11']);
    expect(await codes('q=D%C3%94NG')).toEqual(['C21']);
    expect(await codes('q=%25')).toEqual([]); // a LIKE wildcard is matched literally
  });

  test('paginates with a cursor, no gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/areas?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await ctx.http().get(url).expect(200);
      seen.push(...(res.body.items as { code: string }[]).map((i) => i.code));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['C11', 'C12', 'C21', 'C22', 'D1', 'D2', 'P']);
  });

  test.each([
    ['limit=0', 'limit'],
    ['limit=5000', 'limit'],
    ['kind=city', 'kind'],
    ['bbox=1,2,3', 'bbox'],
    ['bbox=10,10,5,5', 'bbox'],
    ['cursor=garbage', 'cursor'],
    ['colour=red', '(root)'],
  ])('bad query %s → 400 naming %s', async (query, path) => {
    const res = await ctx.http().get(`/v1/areas?${query}`).expect(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });
});

describe('GET /v1/areas/{code}', () => {
  test('returns a GeoJSON Feature', async () => {
    await post(smallProvince()).expect(200);
    const res = await ctx.http().get('/v1/areas/C21').expect(200);
    expect(res.headers['content-type']).toMatch(/application\/geo\+json/);
    expect(res.body).toMatchObject({
      type: 'Feature',
      id: 'C21',
      geometry: { type: 'MultiPolygon' },
      properties: { code: 'C21', name: 'Xã Đồng Nai', kind: 'commune', parent: 'D2', population: 15000 },
    });
    expect(res.body.bbox).toEqual([106.2, 10, 106.3, 10.1]);
    const [lx, ly] = res.body.properties.label_point;
    expect(lx).toBeGreaterThan(106.2);
    expect(ly).toBeLessThan(10.1);
  });

  test('unknown code → 404, malformed code → 400', async () => {
    expect((await ctx.http().get('/v1/areas/NOPE').expect(404)).body.error.code).toBe('not_found');
    await ctx.http().get('/v1/areas/bad%20code').expect(400);
  });
});
