import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import request from 'supertest';
import { LocalDate } from '../../src/domain/dates';
import { projectRoot } from '../../src/paths';
import { rowCounts, testContext } from '../helpers/context';
import { count, hostileDate, hostileNumber, hostileString, nested, RUNS, tried } from './arbitraries';

/**
 * Hostile input, by property: random and adversarial reports, indicators, rule sets and
 * GeoJSON never produce a 5xx, always a JSON error naming what is wrong, and a refused
 * request writes nothing (every table's row count unchanged). The number of inputs tried
 * is printed at the end (and written to test/artifacts/hostile.json).
 */
const ctx = testContext();
const END = '2021-10-31' as LocalDate;
let codes: string[] = [];
const dates = ['2021-10-01', '2021-10-31', '2021-06-15'];

beforeAll(async () => {
  await ctx.demo(END);
  codes = ((await ctx.db.knex('areas').select('code')) as { code: string }[]).map((r) => r.code);
}, 120_000);

afterAll(async () => {
  await ctx.close();
  const total = Object.values(tried).reduce((a, b) => a + b, 0);
  const out = path.join(projectRoot, 'test', 'artifacts');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'hostile.json'), `${JSON.stringify({ at: new Date().toISOString(), total, per_property: tried }, null, 2)}\n`);
  process.stdout.write(`\nhostile inputs tried: ${total} (${Object.entries(tried).map(([k, v]) => `${k} ${v}`).join(', ')}); none gave a 5xx or a partial write\n`);
});

type Sent = { status: number; body: { error?: { code?: string; message?: string; details?: { path: string; message: string }[] } }; headers: Record<string, string> };

/** Sends one input; a 5xx fails the property, a refusal must leave every table as it was. */
async function attempt(name: string, send: () => Promise<Sent>): Promise<Sent> {
  count(name);
  const before = await rowCounts(ctx.db);
  const res = await send();
  if (res.status >= 500) throw new Error(`${name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  if (res.status >= 400) {
    expect(res.headers['content-type']).toMatch(/json/);
    expect(typeof res.body.error?.code).toBe('string');
    expect(typeof res.body.error?.message).toBe('string');
    expect(JSON.stringify(res.body)).not.toMatch(/\bat \w+ \(|node_modules|\.ts:\d+/); // no stack trace
    expect(await rowCounts(ctx.db)).toEqual(before);
  }
  return res;
}

const postJson = (url: string, body: unknown) => ctx.http().post(url).set('Content-Type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body));
const postText = (url: string, type: string, body: string) => ctx.http().post(url).set('Content-Type', type).send(body);

// a row that is valid but for (at most) a few hostile fields
const reportRow = () =>
  fc
    .record(
      {
        area: fc.oneof(fc.constantFrom(...codes), hostileString(codes)),
        date: hostileDate(dates),
        community_cases: fc.oneof(fc.nat(500), hostileNumber),
        quarantine_cases: fc.oneof(fc.nat(500), hostileNumber),
        deaths: fc.oneof(fc.nat(5), hostileNumber),
        source: hostileString(),
      },
      { requiredKeys: [] },
    )
    .chain((r) => fc.oneof(fc.constant(r), fc.record({ extra: hostileString() }).map((x) => ({ ...r, [x.extra]: 1 }))));

const metricRow = () =>
  fc.record(
    {
      area: fc.oneof(fc.constantFrom(...codes), hostileString(codes)),
      date: hostileDate(dates),
      name: fc.oneof(fc.constantFrom('vaccination_18plus_1dose_pct', 'treatment_capacity_ok', 'test_positivity_pct', 'custom.metric-1'), hostileString()),
      value: fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), hostileNumber),
    },
    { requiredKeys: [] },
  );

/** A CSV cell as a client might write it: plain, quoted (with doubled quotes), or raw hostile. */
const cell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return fc.constantFrom(s, `"${s.replace(/"/g, '""')}"`, s.replace(/,/g, ''));
};

function csvOf(header: string[], rows: Record<string, unknown>[]): fc.Arbitrary<string> {
  const lines = rows.map((r) => fc.tuple(...header.map((h) => cell(r[h]))).map((cells) => cells.join(',')));
  return fc.tuple(fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.tuple(...lines), fc.boolean()).map(([eol, bom, body, trailing]) => `${bom ? '\ufeff' : ''}${[header.join(','), ...body].join(eol)}${trailing ? eol : ''}`);
}

describe('reports and indicators', () => {
  test('JSON reports: never a 5xx or a partial write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: fc.array(reportRow(), { maxLength: 6 }).map((reports) => ({ reports })) }, { weight: 1, arbitrary: fc.anything() }), async (body) => {
        await attempt('reports_json', () => postJson('/v1/reports', body));
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  test('CSV reports: never a 5xx or a partial write', async () => {
    const header = fc.shuffledSubarray(['area', 'date', 'community_cases', 'quarantine_cases', 'deaths', 'source', 'Area', 'extra', 'date'], { minLength: 1 });
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(header, fc.array(reportRow(), { maxLength: 6 })).chain(([h, rows]) => csvOf(h, rows)),
        async (csv) => {
          await attempt('reports_csv', () => postText('/v1/reports', 'text/csv', csv));
        },
      ),
      { numRuns: RUNS },
    );
  }, 300_000);

  test('JSON and CSV indicators: never a 5xx or a partial write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(metricRow(), { maxLength: 6 }), fc.boolean(), async (rows, asCsv) => {
        if (asCsv) {
          const csv = fc.sample(csvOf(['area', 'date', 'name', 'value'], rows), 1)[0] as string;
          await attempt('metrics_csv', () => postText('/v1/metrics', 'text/csv', csv));
        } else {
          await attempt('metrics_json', () => postJson('/v1/metrics', { metrics: rows }));
        }
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  test('a NUL, a lone surrogate or SQL in a source is refused or stored exactly, never run', async () => {
    for (const source of ['a\u0000b', "x'); DELETE FROM reports; --", '\ud800', 'Sở Y tế']) {
      const res = await attempt('reports_json', () => postJson('/v1/reports', { reports: [{ area: codes[0], date: '2021-10-02', community_cases: 1, quarantine_cases: 0, source }] }));
      if (source === '\ud800') {
        // a lone surrogate is no Unicode: refused before any handler (src/http/jsonBody.ts refuseLoneSurrogates)
        expect({ status: res.status, code: res.body.error?.code, path: res.body.error?.details?.[0]?.path }).toEqual({ status: 422, code: 'invalid_unicode', path: 'reports[0].source' });
      } else if (res.status === 200) {
        const stored = (await ctx.http().get(`/v1/areas/${codes[0]}/reports?from=2021-10-02&to=2021-10-02`).expect(200)).body as { items: { source: string }[] };
        expect(stored.items[0]?.source).toBe(source);
      } else {
        expect(res.status).toBe(422);
        expect(res.body.error?.details?.[0]?.path).toBe('reports[0].source');
      }
    }
    expect(Number((await ctx.db.knex('areas').count<{ c: number }[]>('* as c'))[0]?.c)).toBe(codes.length);
  });
});

describe('rule sets', () => {
  let presets: { id: string; definition: Record<string, unknown> }[] = [];
  beforeAll(async () => {
    presets = (await ctx.http().get('/v1/rule-sets/presets').expect(200)).body.items;
  });

  /** Every path into a JSON value. */
  function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    const out: (string | number)[][] = [prefix];
    if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
    return out;
  }
  function replaced(v: unknown, at: (string | number)[], value: unknown, remove: boolean): unknown {
    if (at.length === 0) return value;
    const [head, ...rest] = at as [string | number, ...(string | number)[]];
    if (Array.isArray(v)) return remove && rest.length === 0 ? v.filter((_, i) => i !== head) : v.map((x, i) => (i === head ? replaced(x, rest, value, remove) : x));
    const o = { ...(v as Record<string, unknown>) };
    if (remove && rest.length === 0) delete o[head];
    else o[head] = replaced(o[head], rest, value, remove);
    return o;
  }

  test('mutated presets: accepted ones preview without error, refused ones write nothing', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.nat(),
        fc.oneof(hostileNumber, hostileString(), fc.constantFrom(['green', 'red'], { metric: 'x', op: '<', value: 1 }, [[]], [20, 10], [1e308])),
        fc.boolean(),
        async (which, where, value, remove) => {
          const preset = presets[which % presets.length] as { definition: Record<string, unknown> };
          const all = paths(preset.definition).filter((p) => p.length > 0);
          const at = all[where % all.length] as (string | number)[];
          const def = { ...(replaced(preset.definition, at, value, remove) as Record<string, unknown>), name: `hostile-${++n}` };
          const res = await attempt('rule_sets', () => postJson('/v1/rule-sets', def));
          if (res.status === 201) {
            const id = (res.body as unknown as { id: string }).id;
            await attempt('rule_set_previews', () => ctx.http().post(`/v1/rule-sets/${id}/preview`).send());
          } else {
            expect(res.status).toBe(422);
            expect(res.body.error?.details?.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: RUNS },
    );
  }, 300_000);

  test('deeply nested conditions: refused with a 4xx naming the limit, at any depth', async () => {
    const base = (presets.find((p) => p.id === 'vn-2686-2021') ?? presets[0]) as { definition: Record<string, unknown> };
    for (const depth of [10, 100, 1_000, 10_000, 100_000]) {
      // written as text: JSON.stringify itself would overflow on such a value
      const when = `${'{"all":['.repeat(depth)}{"metric":"cases14","op":">","value":0}${']}'.repeat(depth)}`;
      const def = { ...base.definition, name: `deep-${depth}`, levels: [{ kinds: ['commune'], steps: [{ type: 'rules', rules: [{ when: 'WHEN', level: 'red' }], default: 'green' }] }] };
      const body = JSON.stringify(def).replace('"WHEN"', when);
      const res = await attempt('rule_sets_deep', () => postJson('/v1/rule-sets', body));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
  }, 120_000);
});

describe('GeoJSON import', () => {
  /** Built once the demo's codes are known. */
  const featureArb = () => {
    const lon = fc.double({ min: 106.7, max: 107.5, noNaN: true });
    const lat = fc.double({ min: 10.5, max: 11.6, noNaN: true });
    const position = fc.oneof({ weight: 6, arbitrary: fc.tuple(lon, lat) }, { weight: 1, arbitrary: fc.tuple(hostileNumber, hostileNumber) }, { weight: 1, arbitrary: fc.array(hostileNumber, { maxLength: 4 }) });
    // rings from a few random points: often bow-ties, sometimes unclosed or too short
    const ring = fc.tuple(fc.array(position, { minLength: 0, maxLength: 7 }), fc.boolean()).map(([pts, close]) => (close && pts.length ? [...pts, pts[0]] : pts));
    const geometry = fc.oneof(
      fc.array(ring, { minLength: 0, maxLength: 2 }).map((coordinates) => ({ type: 'Polygon', coordinates })),
      fc.array(fc.array(ring, { maxLength: 2 }), { maxLength: 2 }).map((coordinates) => ({ type: 'MultiPolygon', coordinates })),
      fc.tuple(lon, lat).map((coordinates) => ({ type: 'Point', coordinates })),
      fc.anything(),
    );
    const feature = fc.record(
      {
        type: fc.constantFrom('Feature', 'feature', 'FeatureCollection'),
        properties: fc.record(
          {
            code: fc.oneof(fc.nat(1000).map((i) => `T.HOSTILE.${i}`), hostileString(codes)),
            name: hostileString(),
            kind: fc.constantFrom('commune', 'district', 'province', 'subcommune', 'village', '', 'COMMUNE'),
            parent: fc.oneof(fc.constantFrom(...codes), hostileString(), fc.constant(null)),
            population: fc.oneof(fc.nat(200_000), hostileNumber),
          },
          { requiredKeys: [] },
        ),
        geometry,
      },
      { requiredKeys: ['type'] },
    );
    return feature;
  };

  test('random features (bow-ties, unclosed rings, junk coordinates): never a 5xx or a partial write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(featureArb(), { maxLength: 4 }), async (features) => {
        await attempt('geojson', () => ctx.http().post('/v1/areas').set('Content-Type', 'application/geo+json').send(JSON.stringify({ type: 'FeatureCollection', features })));
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  const circle = (n: number, wobble: number) => {
    const ring: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      const a = (2 * Math.PI * i) / n;
      const r = 0.05 * (1 + (i % 2 ? wobble : 0));
      ring.push([107.0 + r * Math.cos(a), 11.0 + r * Math.sin(a)]);
    }
    ring.push(ring[0] as [number, number]);
    return ring;
  };
  const area = (code: string, coordinates: [number, number][][]) => ({
    type: 'FeatureCollection',
    features: [{ type: 'Feature', properties: { code, name: code, kind: 'subcommune', parent: codes.find((c) => c.split('.').length === 4) }, geometry: { type: 'Polygon', coordinates } }],
  });

  test('a 100,000-vertex polygon is imported; a 100,000-vertex self-intersecting one is refused by name', async () => {
    const t = Date.now();
    const ok = await attempt('geojson_100k', () => ctx.http().post('/v1/areas').set('Content-Type', 'application/geo+json').send(JSON.stringify(area('T.BIG.1', [circle(100_000, 0)]))));
    expect(ok.status).toBe(200);
    // a bow-tie: the ring crosses itself once
    const bow = circle(100_000, 0);
    const i = 25_000;
    [bow[i], bow[i + 50_000]] = [bow[i + 50_000] as [number, number], bow[i] as [number, number]];
    const bad = await attempt('geojson_100k', () => ctx.http().post('/v1/areas').set('Content-Type', 'application/geo+json').send(JSON.stringify(area('T.BIG.2', [bow]))));
    expect(bad.status).toBe(422);
    expect(bad.body.error?.details?.[0]?.path).toMatch(/^features\[0\]\.geometry/);
    process.stdout.write(`100k-vertex polygons: imported and refused in ${Date.now() - t} ms\n`);
  }, 120_000);
});

describe('body limits', () => {
  test('JSON nested 100,000 deep on every write route: a 4xx, never a 5xx', async () => {
    for (const url of ['/v1/reports', '/v1/metrics', '/v1/rule-sets', '/v1/areas', '/v1/recompute', '/v1/publications', '/v1/keys', '/v1/webhooks']) {
      for (const body of [nested(100_000), nested(100_000, 1, true), `{"reports":${nested(5_000)}}`]) {
        const res = await attempt('deep_json', () => postJson(url, body));
        expect(res.status).toBeGreaterThanOrEqual(400);
      }
    }
  }, 120_000);

  test('duplicate keys: a 422 naming the key, whichever value comes last; nothing written', async () => {
    for (const [a, b] of [[-1, 2], [2, -2]]) {
      const body = `{"reports":[{"area":"${codes[0]}","date":"2021-10-03","community_cases":${a},"community_cases":${b},"quarantine_cases":0}]}`;
      const res = await attempt('duplicate_keys', () => postJson('/v1/reports', body));
      expect(res.status).toBe(422);
      expect(res.body.error?.code).toBe('duplicate_key');
      expect(res.body.error?.details?.[0]?.path).toBe('reports[0].community_cases');
    }
  });

  test('a body over the limit is refused with 413 before it is read', async () => {
    const small = testContext({ bodyLimitBytes: 1024 });
    try {
      const big = JSON.stringify({ reports: Array.from({ length: 100 }, () => ({ area: codes[0], date: '2021-10-04', community_cases: 1, quarantine_cases: 0 })) });
      count('oversized');
      const res = await request(small.app).post('/v1/reports').set('Authorization', 'Bearer test-admin-key-not-secret').set('Content-Type', 'application/json').send(big);
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('payload_too_large');
    } finally {
      await small.close();
    }
  });
});
