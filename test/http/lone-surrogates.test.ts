import { loneSurrogatePaths } from '../../src/http/jsonBody';
import { smallProvince } from '../helpers/fixtures';
import { rowCounts, testContext } from '../helpers/context';

/**
 * A JSON string that spells a UTF-16 surrogate alone (`"\udfff"`) is no Unicode: it is refused
 * before any handler runs, 422 `invalid_unicode` naming the string's path, and nothing is
 * written (src/http/jsonBody.ts `refuseLoneSurrogates`). Found by the hostile suite: a rule set
 * whose description was "\udfff" reached PostgreSQL's jsonb, which refused the statement — a
 * 422 naming no field. A surrogate pair (an emoji a client escaped) is a character and passes.
 */
const ctx = testContext();
afterAll(() => ctx.close());
beforeEach(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
});

const post = (url: string, body: string) =>
  ctx
    .http()
    .post(url)
    .set('Content-Type', 'application/json')
    .serialize((b: unknown) => b as string)
    .send(body);

type Refusal = { status: number; body: { error?: { code: string; message: string; details: { path: string; message: string }[] } } };
function refusedPaths(res: Refusal): string[] {
  expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 422, code: 'invalid_unicode' });
  return (res.body.error?.details ?? []).map((d) => d.path);
}

describe('loneSurrogatePaths', () => {
  test.each([
    ['no escape at all', '{"a":"Sở Y tế"}', []],
    ['an escaped pair (an emoji)', '{"a":"\\ud83d\\ude00"}', []],
    ['an escaped BMP character', '{"a":"S\\u1edf"}', []],
    ['an escaped backslash before "udfff"', '{"a":"\\\\udfff"}', []],
    ['a lone low surrogate', '{"a":"\\udfff"}', ['a']],
    ['a lone high surrogate, upper case', '{"a":["x","\\uD800"]}', ['a[1]']],
    ['a pair the wrong way round', '{"a":"\\ude00\\ud83d"}', ['a']],
    ['in a key', '{"k\\ud800":1}', ['k\ud800']],
    ['deep, and twice', '{"r":[{"s":"\\udc00"},{"s":"ok"},{"t":{"u":"\\ud9ff!"}}]}', ['r[0].s', 'r[2].t.u']],
    ['the whole body one string', '"\\udfff"', ['(root)']],
  ])('%s', (_what, text, want) => {
    const got = loneSurrogatePaths(Buffer.from(text), JSON.parse(text) as unknown, 50);
    expect(got.first).toEqual(want);
    expect(got.count).toBe(want.length);
  });

  test('counts every one, lists at most `max`', () => {
    const text = JSON.stringify({ rows: Array.from({ length: 80 }, () => ({ s: 'x\udfff' })) });
    const got = loneSurrogatePaths(Buffer.from(text), JSON.parse(text) as unknown, 50);
    expect(got.count).toBe(80);
    expect(got.first.length).toBe(50);
    expect(got.first[49]).toBe('rows[49].s');
  });
});

describe('a JSON body with a lone surrogate', () => {
  test('a rule set whose description is one: 422 naming description, nothing stored; with an emoji it is stored as sent', async () => {
    const presets = (await ctx.http().get('/v1/rule-sets/presets').expect(200)).body.items as { id: string; definition: Record<string, unknown> }[];
    const def = { ...(presets.find((p) => p.id === 'vn-moh-4800-2021') as (typeof presets)[number]).definition, name: 'surrogate-test', description: '\udfff' };
    const before = await rowCounts(ctx.db);
    // JSON.stringify spells a lone surrogate as its escape
    const text = JSON.stringify(def);
    expect(text).toContain('"description":"\\udfff"');
    const res = await post('/v1/rule-sets', text);
    expect(refusedPaths(res)).toEqual(['description']);
    expect(res.body.error?.message).toMatch(/^Dữ liệu JSON .* — the JSON body has a string with a lone UTF-16 surrogate.*nothing was written$/);
    expect(await rowCounts(ctx.db)).toEqual(before);
    const ok = await post('/v1/rule-sets', JSON.stringify({ ...def, description: 'Cấp độ 😀' }).replace('😀', '\\ud83d\\ude00')).expect(201);
    expect((await ctx.http().get(`/v1/rule-sets/${ok.body.id as string}`).expect(200)).body.definition.description).toBe('Cấp độ 😀');
  });

  test('a report source: 422 naming reports[1].source, no row of the batch stored', async () => {
    const before = await rowCounts(ctx.db);
    const reports = [
      { area: 'C11', date: '2021-09-01', community_cases: 3, quarantine_cases: 1, source: 'Sở Y tế' },
      { area: 'C12', date: '2021-09-01', community_cases: 2, quarantine_cases: 0, source: 'CDC \ud800' },
    ];
    expect(refusedPaths(await post('/v1/reports', JSON.stringify({ reports })))).toEqual(['reports[1].source']);
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  test('a GeoJSON property key: 422 naming it, nothing written', async () => {
    const fc = smallProvince() as { features: { properties: Record<string, unknown> }[] };
    (fc.features[0] as { properties: Record<string, unknown> }).properties['note\udc00'] = 1;
    const before = await rowCounts(ctx.db);
    expect(refusedPaths(await post('/v1/areas', JSON.stringify(fc)))).toEqual(['features[0].properties.note\udc00']);
    expect(await rowCounts(ctx.db)).toEqual(before);
  });
});
