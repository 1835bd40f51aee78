import { feature, fc, smallProvince, square } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * Repair on request (issue 16): an invalid boundary is refused naming the feature, the defect
 * and that repair=true would mend it; with repair=true it is made valid and reported, unless
 * the repair would change its area beyond the tolerance. And the gaps an import leaves
 * between neighbours.
 */
const ctx = testContext();
afterAll(() => ctx.close());
beforeEach(() => ctx.reset());

const post = (body: unknown, query = '') => ctx.http().post(`/v1/areas${query}`).set('Content-Type', 'application/json').send(JSON.stringify(body));

/** A 0.01° square whose top edge back-tracks by about half a metre: a self-intersection a rounding to 6 decimals leaves. */
function backTracked() {
  return {
    type: 'Polygon',
    coordinates: [
      [
        [106.6, 10.7],
        [106.61, 10.7],
        [106.61, 10.71],
        [106.605, 10.71],
        [106.604995, 10.710002],
        [106.605003, 10.710001],
        [106.6, 10.71],
        [106.6, 10.7],
      ],
    ],
  };
}

/** A bow-tie: its two lobes cancel in the drawn ring's area; made valid, it is both lobes. */
const bowTie = { type: 'Polygon', coordinates: [[[106.7, 10.7], [106.72, 10.72], [106.72, 10.7], [106.7, 10.72], [106.7, 10.7]]] };

const commune = (code: string, geometry: unknown) => feature({ code, name: `Xã ${code}`, kind: 'commune', parent: null, population: 1000 }, geometry);

describe('repair=true', () => {
  test('a sub-metre back-track is refused without repair, naming the feature and suggesting repair=true', async () => {
    const res = await post(fc([commune('OK1', square(106.5, 10.7, 0.01)), commune('BT1', backTracked())])).expect(422);
    expect(res.body.error.details).toHaveLength(1);
    expect(res.body.error.details[0].path).toBe('features[1].geometry.coordinates');
    expect(res.body.error.details[0].message).toMatch(/^BT1: self-intersection at \[106\.60/);
    expect(res.body.error.details[0].message).toContain('repair=true');
    expect(Number((await ctx.db.knex('areas').count<{ count: string }[]>('* as count'))[0]?.count)).toBe(0);
  });

  test('with repair=true it is made valid, reported with an area change under 1 m², and stored valid', async () => {
    const res = await post(fc([commune('OK1', square(106.5, 10.7, 0.01)), commune('BT1', backTracked())]), '?repair=true').expect(200);
    expect(res.body).toMatchObject({ created: 2, updated: 0, unchanged: 0 });
    expect(res.body.repairs).toHaveLength(1);
    const [r] = res.body.repairs;
    expect(r).toMatchObject({ code: 'BT1', feature: 'features[1]' });
    expect(r.problem).toMatch(/self-intersection/);
    expect(r.action).toMatch(/ST_MakeValid/);
    expect(r.area_change_m2).toBeGreaterThan(0);
    expect(r.area_change_m2).toBeLessThan(1);
    const stored = await ctx.db.knex.raw<{ rows: { valid: boolean; parts: number; m2: number }[] }>(
      "SELECT ST_IsValid(geom) AS valid, ST_NumGeometries(geom) AS parts, ST_Area(geom::geography) AS m2 FROM areas WHERE code = 'BT1'",
    );
    // valid, one polygon: the loop the back-track left is dropped, not kept as a sliver of its own
    expect(stored.rows[0]).toMatchObject({ valid: true, parts: 1 });
    expect(r.action).toMatch(/1 loop\(s\) under 1 m² left by the crossing dropped/);
    // the area as drawn (its rings' own sum), within a square metre
    const drawn = await ctx.db.knex.raw<{ rows: { m2: number }[] }>('SELECT ST_Area(ST_GeomFromGeoJSON(?)::geography) AS m2', [JSON.stringify(backTracked())]);
    expect(Math.abs((stored.rows[0]?.m2 ?? 0) - (drawn.rows[0]?.m2 ?? 0))).toBeLessThan(1);
    // a valid import with repair=true lists nothing repaired
    expect((await post(fc([commune('OK2', square2())]), '?repair=true').expect(200)).body.repairs).toEqual([]);
  });

  test('a bow-tie whose repair would change its area a lot is refused even with repair=true, naming it', async () => {
    const res = await post(fc([commune('OK1', square(106.5, 10.7, 0.01)), commune('BOW', bowTie)]), '?repair=true').expect(422);
    expect(res.body.error.code).toBe('repair_refused');
    expect(res.body.error.details).toEqual([{ path: 'features[1].geometry', message: expect.stringMatching(/^BOW: self-intersection .*repair would change the area by \d+ m²/) }]);
    expect(Number((await ctx.db.knex('areas').count<{ count: string }[]>('* as count'))[0]?.count)).toBe(0);
    expect(Number((await ctx.db.knex('import_batches').count<{ count: string }[]>('* as count'))[0]?.count)).toBe(0);
  });

  test('a feature that gives no parent at all keeps the stored one (a file whose field map has none); null detaches it', async () => {
    await post(smallProvince()).expect(200);
    const noParent = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 'C11', name: 'Xã Long Bình', kind: 'commune', population: 999 }, geometry: square(106, 10, 0.1) }] };
    expect((await post(noParent).expect(200)).body).toMatchObject({ updated: 1 });
    expect((await ctx.http().get('/v1/areas/C11').expect(200)).body.properties).toMatchObject({ parent: 'D1', population: 999 });
    const detached = { ...noParent, features: [{ ...noParent.features[0], properties: { ...noParent.features[0]?.properties, parent: null } }] };
    await post(detached).expect(200);
    expect((await ctx.http().get('/v1/areas/C11').expect(200)).body.properties.parent).toBeNull();
  });

  test('area names are one line of text: CR/LF and bidirectional overrides are refused', async () => {
    for (const name of ['Xã A\r\nB', 'Phường \u202eA', 'Xã\tB']) {
      const res = await post(fc([feature({ code: 'N1', name, kind: 'commune', parent: null, population: 1 }, square(106.5, 10.7, 0.01))])).expect(422);
      expect(res.body.error.details[0]).toMatchObject({ path: 'features[0].properties.name', message: expect.stringMatching(/one line of text/) });
    }
  });
});

function square2() {
  return square(106.3, 10.7, 0.01);
}

describe('the topology report', () => {
  test('gaps between neighbours of one kind: count, total area, the areas around the worst', async () => {
    // eight 0.01° squares around an empty one: one gap of about 1.2 km²
    const ring = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== 1 || j !== 1) ring.push(commune(`G${i}${j}`, square(106 + i * 0.01, 10 + j * 0.01, 0.01)));
    const res = await post(fc(ring)).expect(200);
    expect(res.body.gaps.count).toBe(1);
    const expected = await ctx.db.knex.raw<{ rows: { m2: number }[] }>(
      'SELECT ST_Area(ST_MakeEnvelope(106.01, 10.01, 106.02, 10.02, 4326)::geography) AS m2',
    );
    expect(Math.abs(res.body.gaps.area_m2 - (expected.rows[0]?.m2 ?? 0)) / (expected.rows[0]?.m2 ?? 1)).toBeLessThan(0.002);
    expect(res.body.gaps.worst[0].areas).toEqual(['G00', 'G01', 'G02', 'G10', 'G12', 'G20', 'G21', 'G22']);
    expect(res.body.gaps.worst[0].at[0]).toBeCloseTo(106.015, 2);
    // a new census of the same areas changes no shape: no hole is looked for, none reported
    const census = ring.map((f) => ({ ...f, properties: { ...f.properties, population: 4321 } }));
    expect((await post(fc(census)).expect(200)).body).toMatchObject({ updated: 8, gaps: { count: 0, area_m2: 0, worst: [] } });
    // a new shape of one of them: the hole it touches is reported again
    const moved = census.map((f) => ((f.properties as { code?: unknown }).code === 'G00' ? { ...f, geometry: square(105.999, 10, 0.011) } : f));
    expect((await post(fc(moved)).expect(200)).body).toMatchObject({ updated: 1, gaps: { count: 1 } });
    // filling the hole: no gap is left
    expect((await post(fc([commune('G11', square(106.01, 10.01, 0.01))])).expect(200)).body.gaps).toEqual({ count: 0, area_m2: 0, worst: [] });
  });

  test('every import is a batch: who, the file hash and size, format; the same content again is recognised', async () => {
    const body = fc([commune('OK1', square(106.5, 10.7, 0.01))]);
    const first = await post(body, '?file_name=xa.geojson').expect(200);
    expect(first.body.import).toEqual({ id: expect.any(Number), same_as: null });
    const again = await post(body, '?file_name=xa-copy.geojson').expect(200);
    expect(again.body).toMatchObject({ unchanged: 1, import: { same_as: first.body.import.id } });
    const rows = await ctx.db.knex('import_batches').orderBy('id');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ kind: 'areas', actor: 'admin-key', file_name: 'xa.geojson', format: 'geojson', rows: 1 });
    expect(rows[0].content_sha256).toBe(rows[1].content_sha256);
    const audit = await ctx.db.knex('audit_log').where('action', 'areas.import').orderBy('id');
    expect(audit.map((a: { import_id: string }) => Number(a.import_id))).toEqual([first.body.import.id, again.body.import.id]);
  });
});
