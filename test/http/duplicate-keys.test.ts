import { addDays, LocalDate } from '../../src/domain/dates';
import { DuplicateKey, findDuplicateKeys, LINEAR_KEYS } from '../../src/http/jsonBody';
import { smallProvince } from '../helpers/fixtures';
import { rowCounts, testContext } from '../helpers/context';

/**
 * Issue 14, item 8: a JSON body (any route, application/json or application/geo+json) whose
 * object names the same key twice — also when one of them is escaped — is refused with 422
 * `duplicate_key` naming the key's path, and nothing is written. Malformed JSON stays a 400,
 * hostile nesting stays a 4xx, large valid bodies pass.
 *
 * The cost of the check is measured and written down in src/http/jsonBody.ts, not timed here.
 */
const ctx = testContext();
afterAll(() => ctx.close());
beforeEach(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
});

const post = (url: string, body: string | Buffer, type = 'application/json') =>
  ctx
    .http()
    .post(url)
    .set('Content-Type', type)
    // as given: superagent would serialise a Buffer as JSON
    .serialize((b: unknown) => b as string)
    .send(body);

/** The body of a 422 duplicate_key, asserted; its details returned. */
function refused(res: { status: number; body: { error?: { code: string; details: { path: string; message: string }[] } } }): { path: string; message: string }[] {
  expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 422, code: 'duplicate_key' });
  return res.body.error?.details ?? [];
}

describe('a JSON body with a key twice in one object', () => {
  test('a rule-set definition: 422 naming levels[0].steps[1].type, nothing stored; without the repeat it is stored', async () => {
    const presets = (await ctx.http().get('/v1/rule-sets/presets').expect(200)).body.items as { id: string; definition: { levels: { steps: unknown[] }[] } }[];
    const def = { ...(presets.find((p) => p.id === 'vn-moh-4800-2021') as (typeof presets)[number]).definition, name: 'dup-test' };
    const step = def.levels[0].steps[1] as { type: string };
    expect(step.type).toBe('raise');
    // the same value twice: JSON.parse alone would store it without a word
    def.levels[0].steps[1] = 'STEP';
    const text = JSON.stringify(def);
    const twice = text.replace('"STEP"', `${JSON.stringify(step).slice(0, -1)},"type":"raise"}`);
    const before = await rowCounts(ctx.db);
    const details = refused(await post('/v1/rule-sets', twice));
    expect(details).toEqual([{ path: 'levels[0].steps[1].type', message: 'key "type" appears twice' }]);
    expect(await rowCounts(ctx.db)).toEqual(before);
    expect((await ctx.http().get('/v1/rule-sets').expect(200)).body.items).toEqual([]);
    await post('/v1/rule-sets', text.replace('"STEP"', JSON.stringify(step))).expect(201);
  });

  test('a reports row: 422 naming reports[0].community_cases, nothing stored', async () => {
    const before = await rowCounts(ctx.db);
    const body = '{"reports":[{"area":"C11","date":"2021-09-01","community_cases":3,"community_cases":3,"quarantine_cases":1}]}';
    const res = await post('/v1/reports', body);
    expect(refused(res)).toEqual([{ path: 'reports[0].community_cases', message: 'key "community_cases" appears twice' }]);
    expect(res.body.error.message).toMatch(/^Dữ liệu JSON có khóa lặp lại .*\(1 khóa lặp\).* — .*\(1 repeated key\).*nothing was written$/);
    expect(await rowCounts(ctx.db)).toEqual(before);
    // the same row once: accepted
    await post('/v1/reports', body.replace('"community_cases":3,', '')).expect(200);
  });

  test('keys that differ only by escaping are the same key (ASCII, Vietnamese, in GeoJSON)', async () => {
    const before = await rowCounts(ctx.db);
    const escaped = '{"reports":[{"area":"C11","date":"2021-09-01","community_cases":3,"community\\u005fcases":3,"quarantine_cases":1}]}';
    expect(refused(await post('/v1/reports', escaped))).toEqual([{ path: 'reports[0].community_cases', message: 'key "community_cases" appears twice' }]);
    const quoted = '{"reports":[{"area":"C11","\\u0061rea":"C11","date":"2021-09-01","community_cases":3,"quarantine_cases":1}]}';
    expect(refused(await post('/v1/reports', quoted))[0]?.path).toBe('reports[0].area');
    // "tên" as UTF-8 bytes and as \u00ea, in the properties of the fourth feature of an area import
    const geo = JSON.stringify(smallProvince()).replace('"code":"C11"', '"code":"C11","tên":"Long Bình","t\\u00ean":"Long Bình"');
    expect(refused(await post('/v1/areas', geo, 'application/geo+json'))).toEqual([{ path: 'features[3].properties.tên', message: 'key "tên" appears twice' }]);
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  test('every JSON route, both media types; three times is two details; a charset other than UTF-8 does not hide it', async () => {
    for (const url of ['/v1/reports', '/v1/metrics', '/v1/rule-sets', '/v1/recompute', '/v1/publications', '/v1/keys', '/v1/webhooks']) {
      expect(refused(await post(url, '{"x":1,"x":2}'))).toEqual([{ path: 'x', message: 'key "x" appears twice' }]);
    }
    expect(refused(await post('/v1/areas', '{"type":"FeatureCollection","type":"FeatureCollection","features":[]}', 'application/geo+json'))[0]?.path).toBe('type');
    const thrice = refused(await post('/v1/reports', '{"reports":[],"a":[{"b":[1,{"c":1,"c":2,"c":3}]}]}'));
    expect(thrice).toEqual([
      { path: 'a[0].b[1].c', message: 'key "c" appears twice' },
      { path: 'a[0].b[1].c', message: 'key "c" appears again' },
    ]);
    // JSON is UTF-8 only: a body in any other charset is refused before it is read — a BOM-less
    // UTF-16 body could otherwise read one way to JSON.parse and another to the scan
    const dup = '{"reports":[{"area":"C11","area":"C11","date":"2021-09-01","community_cases":3,"quarantine_cases":1}]}';
    const unchanged = await rowCounts(ctx.db);
    for (const [bytes, type] of [
      [Buffer.from(dup, 'utf16le'), 'application/json; charset=utf-16le'],
      [Buffer.from(dup, 'utf16le').swap16(), 'application/json; charset=utf-16'],
      [Buffer.from(dup, 'utf16le').swap16(), 'application/json; charset=utf-16be'],
      [Buffer.from('{\0\0\0}\0\0\0', 'latin1'), 'application/json; charset=utf-32le'],
    ] as const) {
      const res = await post('/v1/reports', bytes, type);
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 415, code: 'unsupported_media_type' });
    }
    expect(await rowCounts(ctx.db)).toEqual(unchanged);
  });

  test('a GET sent with a body never has it parsed: a large or deep one costs nothing and is ignored', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const res = await ctx.http().get('/health').set('Content-Type', 'application/json').send(deep);
    expect(res.status).toBe(200);
    const many = `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":1`).join(',')},"k1":2}`;
    expect((await ctx.http().get('/v1/rule-sets').set('Content-Type', 'application/json').send(many)).status).toBe(200);
  });

  test('the same key in different objects, in arrays, in strings, or in a large object is no repeat', async () => {
    const body = JSON.stringify({
      reports: [
        { area: 'C11', date: '2021-09-01', community_cases: 3, quarantine_cases: 1, source: '{"area":"x","area":"y"} \\ " [' },
        { area: 'C11', date: '2021-09-02', community_cases: 3, quarantine_cases: 1 },
      ],
    });
    await post('/v1/reports', body).expect(200);
    // an object of 1,000 keys (checked through a Set past LINEAR_KEYS): accepted, then refused with one key repeated at the end
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    const geo = smallProvince() as unknown as { features: { properties: Record<string, unknown> }[] };
    geo.features[3].properties = { ...geo.features[3].properties, ...many };
    const text = JSON.stringify(geo);
    expect((await post('/v1/areas', text, 'application/geo+json')).status).toBe(200);
    const repeated = text.replace('"k999":999', '"k999":999,"k17":17');
    expect(refused(await post('/v1/areas', repeated, 'application/geo+json'))).toEqual([{ path: 'features[3].properties.k17', message: 'key "k17" appears twice' }]);
  });
});

describe('what stays as it was', () => {
  test('malformed JSON with a repeated key is still 400 invalid_json', async () => {
    for (const body of ['{"x":1,"x":2', '{"x":1,"x":2,}', '{"x":1,"x":}']) {
      const res = await post('/v1/reports', body).expect(400);
      expect(res.body.error.code).toBe('invalid_json');
    }
  });

  test('hostile nesting (100,000 deep arrays or objects, repeated keys inside): a 4xx, never a 5xx', async () => {
    const deep = 100_000;
    const bodies = [
      `${'['.repeat(deep)}1${']'.repeat(deep)}`,
      `${'{"a":'.repeat(deep)}1${'}'.repeat(deep)}`,
      `{"reports":[],"x":${'{"a":1,"a":'.repeat(deep)}1${'}'.repeat(deep)}}`,
    ];
    const answers: [number, string][] = [];
    for (const body of bodies) {
      const res = await post('/v1/reports', body);
      answers.push([res.status, res.body.error?.code as string]);
    }
    // refused by the depth limit, as before, also when keys repeat inside (the depth is checked first)
    expect(answers).toEqual([
      [400, 'too_deep'],
      [400, 'too_deep'],
      [400, 'too_deep'],
    ]);
    // a repeat in each of 100,000 rows: counted, the first 50 named
    const many = `{"reports":[${'{"area":"C11","area":"C11"},'.repeat(99_999)}{"area":"C11","area":"C11"}]}`;
    const res = await post('/v1/reports', many);
    const details = refused(res);
    expect(details).toHaveLength(50);
    expect(details[49]).toEqual({ path: 'reports[49].area', message: 'key "area" appears twice' });
    expect(res.body.error.message).toBe(
      'Dữ liệu JSON có khóa lặp lại trong cùng một đối tượng (100.000 khóa lặp, liệt kê 50 khóa đầu); không có gì được ghi — ' +
        'the JSON body names a key twice in one object (100,000 repeated keys, first 50 listed): JSON.parse would keep only the later value; nothing was written',
    );
  }, 60_000);

  test('a large valid body (≈ 4 MB of reports) is accepted', async () => {
    const rows: string[] = [];
    for (const area of ['C11', 'C12', 'C21', 'C22']) {
      for (let d = 0; d < 8000; d++) {
        rows.push(JSON.stringify({ area, date: addDays('2000-01-01' as LocalDate, d), community_cases: d % 7, quarantine_cases: d % 3, deaths: 0, source: 'CDC Đồng Nai, báo cáo ngày' }));
      }
    }
    const body = `{"reports":[${rows.join(',')}]}`;
    expect(body.length).toBeGreaterThan(4_000_000);
    const res = await post('/v1/reports', body).expect(200);
    expect(res.body.inserted).toBe(32_000);
  }, 60_000);
});

describe('findDuplicateKeys (the scan)', () => {
  const scan = (text: string, limit = 50): DuplicateKey[] => {
    JSON.parse(text.replace(/^\uFEFF/, '')); // it is only ever given what JSON.parse accepted
    const { count, first } = findDuplicateKeys(Buffer.from(text, 'utf8'), limit);
    expect(count).toBeGreaterThanOrEqual(first.length);
    return first;
  };

  test('paths as formatPath writes them, at any position', () => {
    expect(scan('{"a":1,"a":2}')).toEqual([{ path: 'a', key: 'a', again: false }]);
    expect(scan('[0,{"b":1},{"b":1,"b":1}]')).toEqual([{ path: '[2].b', key: 'b', again: false }]);
    expect(scan('{"l":[{"s":[{},{"t":1,"u":[],"t":2}]}]}')).toEqual([{ path: 'l[0].s[1].t', key: 't', again: false }]);
    expect(scan('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":1}]}')).toEqual([]);
    expect(scan('\uFEFF {\n "a" : 1 ,\r\n\t"a":2 }')).toEqual([{ path: 'a', key: 'a', again: false }]);
  });

  test('strings: escaped quotes, backslashes and brackets inside them are not structure', () => {
    expect(scan('{"a":"\\"","b":"\\\\","c":"{\\"a\\":1,","d":"]}","a\\\\":1}')).toEqual([]);
    expect(scan('{"a\\"":1,"a\\u0022":2}')).toEqual([{ path: 'a"', key: 'a"', again: false }]);
    expect(scan('{"":1,"":2}')).toEqual([{ path: '(root)', key: '', again: false }]);
    expect(scan('{"ab":1,"ba":2,"abc":3,"a":4,"b":5}')).toEqual([]);
  });

  test('escapes, surrogates and UTF-8: equal when the unescaped keys are equal, and only then', () => {
    expect(scan('{"é":1,"\\u00e9":2}')).toEqual([{ path: 'é', key: 'é', again: false }]);
    expect(scan('{"\\u00E9":1,"\\u00e9":2}')).toEqual([{ path: 'é', key: 'é', again: false }]);
    expect(scan('{"😀":1,"\\ud83d\\ude00":2}')).toEqual([{ path: '😀', key: '😀', again: false }]);
    expect(scan('{"\\ud800":1,"\\ud801":2,"\\/":3,"/":4}')).toEqual([{ path: '/', key: '/', again: false }]);
    // NFC and NFD are different keys to JSON.parse, and here
    expect(scan(`{"${'é'.normalize('NFC')}":1,"${'é'.normalize('NFD')}":2}`)).toEqual([]);
  });

  test('objects of many keys (compared one by one, then through a Set past LINEAR_KEYS) and repeats reported once each', () => {
    expect(LINEAR_KEYS).toBe(64);
    for (const size of [40, 100]) {
      const keys = Array.from({ length: size }, (_, i) => `"k${i}":${i}`);
      expect(scan(`{${keys.join(',')}}`)).toEqual([]);
      expect(scan(`{${keys.join(',')},"k3":0,"k39":0,"k3":1}`)).toEqual([
        { path: 'k3', key: 'k3', again: false },
        { path: 'k39', key: 'k39', again: false },
        { path: 'k3', key: 'k3', again: true },
      ]);
      // the keys of an inner object do not leak into the outer one, before or after a Set
      expect(scan(`{"x":{${keys.join(',')}},"k1":1,"y":{"k1":1},"x2":{"a":1}}`)).toEqual([]);
    }
    // the key after LINEAR_KEYS repeats the first: found on the switch from comparisons to the Set
    const keys = Array.from({ length: LINEAR_KEYS }, (_, i) => `"k${i}":${i}`);
    expect(scan(`{${keys.join(',')},"k0":1}`)).toEqual([{ path: 'k0', key: 'k0', again: false }]);
    expect(scan(`{${keys.join(',')},"k${LINEAR_KEYS}":1,"k0":1}`)).toEqual([{ path: 'k0', key: 'k0', again: false }]);
    // an escaped key in a small object moves it to the Set as well
    expect(scan('{"k0":1,"k1":2,"k\\u0030":3}')).toEqual([{ path: 'k0', key: 'k0', again: false }]);
    // keys of one length, and keys of one length and one hash ("k620098" and "k808216" share
    // their 30-bit FNV-1a), are told apart by their bytes
    expect(scan('{"ab":1,"ba":2,"aa":3,"bb":4,"a":5,"b":6}')).toEqual([]);
    expect(scan('{"k620098":1,"k808216":2}')).toEqual([]);
    expect(scan('{"k620098":1,"k808216":2,"k620098":3}')).toEqual([{ path: 'k620098', key: 'k620098', again: false }]);
  });

  test('100,000 deep: no recursion, found at the bottom; a repeat at every level is counted, paths built for the first only', () => {
    const deep = 100_000;
    const found = scan(`${'['.repeat(deep)}{"z":1,"z":2}${']'.repeat(deep)}`);
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toBe(`${'[0]'.repeat(deep)}.z`);
    // each path as long as its depth: 100,000 of them would be quadratic
    const chain = Buffer.from(`${'{"a":1,"a":'.repeat(deep)}1${'}'.repeat(deep)}`, 'utf8');
    const started = Date.now();
    const { count, first } = findDuplicateKeys(chain, 3);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(count).toBe(deep);
    expect(first.map((d) => d.path)).toEqual(['a', 'a.a', 'a.a.a']);
  });
});

test('a body with thousands of unknown fields gets a short answer naming the first 20 and how many more', async () => {
  const fields = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`x${i}`, 1]));
  const res = await ctx.http().post('/v1/publications').set('Content-Type', 'application/json').send({ date: '2021-10-01', ...fields });
  expect(res.status).toBe(422);
  const message = res.body.error.details[0].message as string;
  expect(message).toContain('x0, x1');
  expect(message).toContain('and 4980 more');
  expect(JSON.stringify(res.body).length).toBeLessThan(2_000);
});
