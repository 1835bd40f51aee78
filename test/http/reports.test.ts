import { addDays, today } from '../../src/domain/dates';
import { smallProvince } from '../helpers/fixtures';
import { rowCounts, testContext } from '../helpers/context';

const ctx = testContext();
afterAll(() => ctx.close());
beforeEach(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
});

const postJson = (path: string, body: unknown) => ctx.http().post(path).set('Content-Type', 'application/json').send(JSON.stringify(body));
const postCsv = (path: string, text: string) => ctx.http().post(path).set('Content-Type', 'text/csv; charset=utf-8').send(text);
const reports = (rows: unknown[]) => postJson('/v1/reports', { reports: rows });
const row = (over: Record<string, unknown> = {}) => ({ area: 'C11', date: '2021-09-01', community_cases: 3, quarantine_cases: 1, ...over });

describe('POST /v1/reports (JSON)', () => {
  test('insert, resend unchanged, correct with a kept revision', async () => {
    const batch = [row(), row({ date: '2021-09-02', community_cases: 0 }), row({ area: 'C21', deaths: 1, source: 'CDC Đồng Nai' })];
    const first = (await reports(batch).expect(200)).body;
    expect(first).toEqual({ inserted: 3, updated: 0, unchanged: 0, earliest_changed_date: '2021-09-01', recompute: null, import: { id: expect.any(Number), same_as: null } });
    // the same batch again: recognised (same_as), nothing changed
    expect((await reports(batch).expect(200)).body).toEqual({ inserted: 0, updated: 0, unchanged: 3, earliest_changed_date: null, recompute: null, import: { id: first.import.id + 1, same_as: first.import.id } });

    const corrected = [row({ date: '2021-09-02', community_cases: 7 }), ...batch.slice(2)];
    expect((await reports(corrected).expect(200)).body).toEqual({ inserted: 0, updated: 1, unchanged: 1, earliest_changed_date: '2021-09-02', recompute: null, import: { id: first.import.id + 2, same_as: null } });

    const res = await ctx.http().get('/v1/areas/C11/reports?revisions=true').expect(200);
    expect(res.body.items).toHaveLength(2);
    expect(res.body.items[1]).toMatchObject({ date: '2021-09-02', community_cases: 7, quarantine_cases: 1, deaths: null, source: null, revision: 2 });
    expect(res.body.items[1].revisions).toEqual([
      expect.objectContaining({ revision: 1, community_cases: 0, quarantine_cases: 1, superseded_at: expect.any(String) }),
    ]);
    expect(res.body.items[0]).toMatchObject({ revision: 1, revisions: [] });
    const c21 = await ctx.http().get('/v1/areas/C21/reports').expect(200);
    expect(c21.body.items[0]).toMatchObject({ deaths: 1, source: 'CDC Đồng Nai', revision: 1 });
    expect(c21.body.items[0].revisions).toBeUndefined();
  });

  test('date range filters', async () => {
    await reports(['2021-09-01', '2021-09-02', '2021-09-03', '2021-09-04'].map((date) => row({ date }))).expect(200);
    const res = await ctx.http().get('/v1/areas/C11/reports?from=2021-09-02&to=2021-09-03').expect(200);
    expect(res.body.items.map((i: { date: string }) => i.date)).toEqual(['2021-09-02', '2021-09-03']);
    await ctx.http().get('/v1/areas/C11/reports?from=2021-09-05&to=2021-09-01').expect(400);
    await ctx.http().get('/v1/areas/C11/reports?from=yesterday').expect(400);
    await ctx.http().get('/v1/areas/NOPE/reports').expect(404);
  });

  test('tomorrow (local) is accepted, the day after is not', async () => {
    const tomorrow = addDays(today(ctx.config.reportingTimeZone), 1);
    await reports([row({ date: tomorrow })]).expect(200);
    const res = await reports([row({ date: addDays(tomorrow, 1) })]).expect(422);
    expect(res.body.error.details[0]).toEqual({ path: 'reports[0].date', message: `không được ở tương lai (muộn nhất: ${tomorrow}) — must not be in the future (latest accepted: ${tomorrow})` });
  });

  type Case = [string, unknown, number, string, RegExp];
  const cases: Case[] = [
    ['negative count', { reports: [row(), row({ date: '2021-09-02', community_cases: -1 })] }, 422, 'reports[1].community_cases', /≥ 0/],
    ['fractional count', { reports: [row({ quarantine_cases: 1.5 })] }, 422, 'reports[0].quarantine_cases', /whole number/],
    ['count as text', { reports: [row({ community_cases: '3' })] }, 422, 'reports[0].community_cases', /number/],
    ['unknown area', { reports: [row(), row({ area: 'ZZZ' })] }, 422, 'reports[1].area', /unknown area code ZZZ/],
    ['impossible date', { reports: [row({ date: '2021-02-30' })] }, 422, 'reports[0].date', /real calendar date/],
    ['far-future date', { reports: [row({ date: '2999-01-01' })] }, 422, 'reports[0].date', /future/],
    ['missing field', { reports: [{ area: 'C11', date: '2021-09-01', community_cases: 1 }] }, 422, 'reports[0].quarantine_cases', /number/],
    ['unknown field', { reports: [row({ comunity_cases: 1 })] }, 422, 'reports[0]', /unknown field\(s\): comunity_cases/],
    ['duplicate area and date', { reports: [row(), row({ community_cases: 9 })] }, 422, 'reports[1].date', /appears twice \(also at reports\[0\]\.date\)/],
    ['reports not an array', { reports: { area: 'C11' } }, 422, 'reports', /array/],
    ['wrong top-level shape', [row()], 422, '(root)', /object/],
  ];

  test.each(cases)('%s', async (_name, body, status, path, message) => {
    await reports([row({ date: '2021-08-01' })]).expect(200);
    const before = await rowCounts(ctx.db);
    const res = await postJson('/v1/reports', body).expect(status);
    const detail = (res.body.error.details as { path: string; message: string }[]).find((d) => d.path === path);
    expect(detail?.message).toMatch(message);
    // what went wrong, counted, Vietnamese first (the body's shape aside)
    if (res.body.error.code === 'validation_failed' && path !== '(root)' && path !== 'reports') expect(res.body.error.message).toMatch(/^1 lỗi trong dữ liệu báo cáo ca mắc; không có gì được ghi — 1 problem\(s\) in reports; nothing was written$/);
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  test('malformed JSON → 400, wrong content type → 415, too large → 413', async () => {
    const before = await rowCounts(ctx.db);
    expect((await ctx.http().post('/v1/reports').set('Content-Type', 'application/json').send('{"reports": [').expect(400)).body.error.code).toBe('invalid_json');
    expect((await ctx.http().post('/v1/reports').set('Content-Type', 'application/xml').send('<r/>').expect(415)).body.error.code).toBe('unsupported_media_type');
    expect((await ctx.http().post('/v1/reports').send('area=C11').expect(415)).body.error.details[0].path).toBe('Content-Type');
    const small = testContext({ bodyLimitBytes: 1000 });
    try {
      const many = Array.from({ length: 50 }, (_, i) => row({ date: addDays('2021-09-01' as never, i) }));
      expect((await small.http().post('/v1/reports').set('Content-Type', 'application/json').send(JSON.stringify({ reports: many })).expect(413)).body.error.code).toBe('payload_too_large');
    } finally {
      await small.close();
    }
    expect(await rowCounts(ctx.db)).toEqual(before);
  });
});

describe('POST /v1/reports (CSV)', () => {
  const header = 'area,date,community_cases,quarantine_cases,deaths,source';

  test('UTF-8 with a BOM and CRLF, Vietnamese names intact, idempotent', async () => {
    const text = `\uFEFF${header}\r\nC11,2021-09-01,3,1,,Trạm Y tế Phường Long Bình\r\nC12,2021-09-01,0,2,0,"Sở Y tế, Đồng Nai"\r\n`;
    expect((await postCsv('/v1/reports', text).expect(200)).body).toMatchObject({ inserted: 2, updated: 0, unchanged: 0 });
    expect((await postCsv('/v1/reports', text).expect(200)).body).toMatchObject({ inserted: 0, updated: 0, unchanged: 2 });
    const c11 = await ctx.http().get('/v1/areas/C11/reports').expect(200);
    expect(c11.body.items[0]).toMatchObject({ community_cases: 3, quarantine_cases: 1, deaths: null, source: 'Trạm Y tế Phường Long Bình' });
    const c12 = await ctx.http().get('/v1/areas/C12/reports').expect(200);
    expect(c12.body.items[0]).toMatchObject({ deaths: 0, source: 'Sở Y tế, Đồng Nai' });
  });

  test('optional columns may be left out, columns in any order', async () => {
    const text = 'quarantine_cases,date,area,community_cases\n4,2021-09-03,C21,5\n';
    expect((await postCsv('/v1/reports', text).expect(200)).body).toMatchObject({ inserted: 1 });
    const res = await ctx.http().get('/v1/areas/C21/reports').expect(200);
    expect(res.body.items[0]).toMatchObject({ date: '2021-09-03', community_cases: 5, quarantine_cases: 4, deaths: null });
  });

  type Case = [string, string, string, RegExp];
  const cases: Case[] = [
    ['missing column', 'area,date,community_cases\nC11,2021-09-01,1\n', 'line[1]', /missing column "?quarantine_cases/],
    ['unknown column', `${header},note\nC11,2021-09-01,1,0,,,x\n`, 'line[1]', /unknown column "note"/],
    ['wrong field count', `${header}\nC11,2021-09-01,1,0,,\nC12,2021-09-01,1\n`, 'line[3]', /expected 6 fields, found 3/],
    ['text in a count', `${header}\nC11,2021-09-01,abc,0,,\n`, 'line[2].community_cases', /number/],
    ['negative count', `${header}\nC11,2021-09-01,1,-2,,\n`, 'line[2].quarantine_cases', /≥ 0/],
    ['unknown area', `${header}\nC11,2021-09-01,1,0,,\nXX,2021-09-01,1,0,,\n`, 'line[3].area', /unknown area code XX/],
    ['duplicate rows', `${header}\nC11,2021-09-01,1,0,,\nC11,2021-09-01,2,0,,\n`, 'line[3].date', /appears twice/],
    ['empty body', '', 'line[1]', /header/],
    ['unclosed quote', `${header}\nC11,2021-09-01,1,0,,"open\n`, 'line[2]', /quoted field is not closed/],
  ];

  test.each(cases)('%s', async (_name, text, path, message) => {
    const before = await rowCounts(ctx.db);
    const res = await postCsv('/v1/reports', text);
    expect([400, 422]).toContain(res.status);
    const detail = (res.body.error.details as { path: string; message: string }[]).find((d) => d.path === path);
    expect(detail?.message).toMatch(message);
    // what went wrong, counted, Vietnamese first (the body's shape aside)
    if (res.body.error.code === 'validation_failed' && path !== '(root)' && path !== 'reports') expect(res.body.error.message).toMatch(/^1 lỗi trong dữ liệu báo cáo ca mắc; không có gì được ghi — 1 problem\(s\) in reports; nothing was written$/);
    expect(await rowCounts(ctx.db)).toEqual(before);
  });

  test('a large CSV is all or nothing: one bad row among 5,000 writes nothing', async () => {
    const lines = [header];
    for (let i = 0; i < 5000; i++) lines.push(`C${i % 2 ? '11' : '12'},${addDays('2010-01-01' as never, Math.floor(i / 2))},${i % 7},${i % 3},,`);
    lines[4000] = 'C11,2015-06-01,-1,0,,';
    const before = await rowCounts(ctx.db);
    const res = await postCsv('/v1/reports', lines.join('\n')).expect(422);
    expect(res.body.error.details).toEqual([{ path: 'line[4001].community_cases', message: 'phải ≥ 0 — must be ≥ 0' }]);
    expect(await rowCounts(ctx.db)).toEqual(before);
    lines.splice(4000, 1);
    expect((await postCsv('/v1/reports', lines.join('\n')).expect(200)).body).toMatchObject({ inserted: 4999 });
  });
});

describe('POST /v1/metrics', () => {
  const m = (over: Record<string, unknown> = {}) => ({ area: 'D1', date: '2021-09-01', name: 'vaccination_18plus_1dose_pct', value: 64.5, ...over });

  test('insert, unchanged, revision on change, custom names accepted', async () => {
    const batch = [m(), m({ name: 'treatment_capacity_ok', value: 1 }), m({ area: 'C11', name: 'beds_per_100k', value: 12.25 })];
    expect((await postJson('/v1/metrics', { metrics: batch }).expect(200)).body).toMatchObject({ inserted: 3, updated: 0, unchanged: 0 });
    expect((await postJson('/v1/metrics', { metrics: batch }).expect(200)).body).toMatchObject({ inserted: 0, updated: 0, unchanged: 3 });
    expect((await postJson('/v1/metrics', { metrics: [m({ value: 71 })] }).expect(200)).body).toMatchObject({ updated: 1 });
    const res = await ctx.http().get('/v1/areas/D1/metrics?name=vaccination_18plus_1dose_pct').expect(200);
    expect(res.body.items).toEqual([expect.objectContaining({ date: '2021-09-01', value: 71, revision: 2 })]);
    const rev = await ctx.db.knex('metric_revisions').select('value', 'revision');
    expect(rev).toEqual([{ value: 64.5, revision: 1 }]);
  });

  test('CSV', async () => {
    const text = 'area,date,name,value\nD2,2021-09-01,vaccination_65plus_full_pct,51.59\nD2,2021-09-01,treatment_capacity_ok,0\n';
    expect((await postCsv('/v1/metrics', text).expect(200)).body).toMatchObject({ inserted: 2 });
  });

  test('names that are Object.prototype members are custom names like any other (JSON and CSV)', async () => {
    // found by the property tests: `valueOf` once reached an inherited function and answered 500
    const names = ['valueOf', 'constructor', 'toString', 'hasOwnProperty', '__proto__'];
    const json = await postJson('/v1/metrics', { metrics: names.map((name) => m({ area: 'C12', name, value: 0 })) }).expect(200);
    expect(json.body).toMatchObject({ inserted: names.length });
    const csv = await postCsv('/v1/metrics', `area,date,name,value\n${names.map((n) => `C12,2021-09-02,${n},1`).join('\n')}\n`).expect(200);
    expect(csv.body).toMatchObject({ inserted: names.length });
    const stored = (await ctx.db.knex('metrics').join('areas', 'areas.id', 'metrics.area_id').where('areas.code', 'C12').select('metrics.name')) as { name: string }[];
    expect(stored.map((r) => r.name).sort()).toEqual([...names, ...names].sort());
  });

  type Case = [string, Record<string, unknown>, string, RegExp];
  const cases: Case[] = [
    ['percentage above 100', m({ value: 120 }), 'metrics[0].value', /vaccination_18plus_1dose_pct must be a percentage between 0 and 100/],
    ['capacity flag not 0/1', m({ name: 'treatment_capacity_ok', value: 2 }), 'metrics[0].value', /must be 1 \(met\) or 0/],
    ['negative unknown-source count', m({ name: 'community_cases_unknown_source', value: -1 }), 'metrics[0].value', /whole number ≥ 0/],
    ['value as text', m({ value: 'high' }), 'metrics[0].value', /number/],
    ['bad metric name', m({ name: 'drop table;' }), 'metrics[0].name', /A-Z a-z/],
    ['unknown area', m({ area: 'NOPE' }), 'metrics[0].area', /unknown area code NOPE/],
  ];
  test.each(cases)('%s → 422', async (_name, metric, path, message) => {
    const before = await rowCounts(ctx.db);
    const res = await postJson('/v1/metrics', { metrics: [m({ date: '2021-08-01' }), metric] }).expect(422);
    const fixed = path.replace('[0]', '[1]');
    const detail = (res.body.error.details as { path: string; message: string }[]).find((d) => d.path === fixed);
    expect(detail?.message).toMatch(message);
    expect(await rowCounts(ctx.db)).toEqual(before);
  });
});
