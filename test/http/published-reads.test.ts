import { dateRange, LocalDate } from '../../src/domain/dates';
import preset from '../../src/domain/rules/presets/vn-moh-4800-2021.json';
import { smallProvince } from '../helpers/fixtures';
import { testContext } from '../helpers/context';
import { jobEnded } from '../helpers/jobs';

/**
 * `version=published` on history and the change feed (issue 14): each day is read as of its
 * latest publication (known at `as_of`); a day without one is listed `published: false`,
 * level unknown, and takes no part in the changes — each published day is compared with the
 * previous published day. History days carry the rule set that computed them; changes carry
 * `reason_text` in Vietnamese and English. Zone answers carry `level_label`, bilingual
 * explanation steps and the persistence step.
 */
const ctx = testContext();
const http = () => ctx.http();
const COMMUNES = ['C11', 'C12', 'C21', 'C22'];
const get = async (url: string) => (await http().get(url).expect(200)).body;

async function waitForJob(id: number): Promise<void> {
  const job = await jobEnded(ctx, id);
  if (job.status === 'failed') throw new Error(`job ${id} failed: ${JSON.stringify(job)}`);
}

/** The small province with zero reports every day of [first, last] and 80 % coverage: green under 4800 (or `ruleSet`). */
async function province(first: LocalDate, last: LocalDate, ruleSet: { body: object; id: string } = { body: { preset: 'vn-moh-4800-2021' }, id: 'vn-moh-4800-2021@1' }) {
  const days = dateRange(first, last);
  await ctx.reset();
  await http().post('/v1/areas').send(smallProvince()).expect(200);
  await http().post('/v1/reports').send({ reports: COMMUNES.flatMap((area) => days.map((date) => ({ area, date, community_cases: 0, quarantine_cases: 0 }))) }).expect(200);
  await http().post('/v1/metrics').send({ metrics: days.map((date) => ({ area: 'P', date, name: 'vaccination_18plus_1dose_pct', value: 80 })) }).expect(200);
  await http().post('/v1/rule-sets').send(ruleSet.body).expect(201);
  await http().post(`/v1/rule-sets/${ruleSet.id}/activate`).send({ effective_from: '2021-01-01' }).expect(200);
  await http().post('/v1/recompute').send({ from: first, to: last }).expect(200);
}

/** A late correction of C11's report on 5 Oct, and the recomputation it asks for. */
async function correct(communityCases: number) {
  const res = await http().post('/v1/reports').send({ reports: [{ area: 'C11', date: '2021-10-05', community_cases: communityCases, quarantine_cases: 0 }] }).expect(200);
  await waitForJob(res.body.recompute.job);
}

afterAll(() => ctx.close());

describe('published history and changes', () => {
  let firstPublication = '';
  beforeAll(async () => {
    await province('2021-10-01' as LocalDate, '2021-10-10' as LocalDate);
    firstPublication = (await http().post('/v1/publications').send({ date: '2021-10-04' }).expect(201)).body.published_at;
    await http().post('/v1/publications').send({ date: '2021-10-05' }).expect(201);
    await correct(6); // 60 per 100,000 over 7 days: orange from 5 Oct
    expect((await get('/v1/zones/C11?date=2021-10-05')).level).toBe('orange');
    await http().post('/v1/publications').send({ date: '2021-10-05' }).expect(201);
    await http().post('/v1/publications').send({ date: '2021-10-07' }).expect(201);
    await correct(0); // a later correction: no case after all — green again in the latest reading
    expect((await get('/v1/zones/C11?date=2021-10-05')).level).toBe('green');
  }, 120_000);

  test('history?version=published and changes?version=published return the published levels after a later correction', async () => {
    const h = await get('/v1/zones/C11/history?from=2021-10-05&to=2021-10-08&version=published');
    expect(h).toMatchObject({ code: 'C11', version: 'published' });
    expect(h.days).toEqual([
      { date: '2021-10-05', level: 'orange', level_number: 3, rule_set: 'vn-moh-4800-2021@1', published: true },
      { date: '2021-10-06', level: 'unknown', level_number: null, rule_set: null, published: false },
      { date: '2021-10-07', level: 'orange', level_number: 3, rule_set: 'vn-moh-4800-2021@1', published: true },
      { date: '2021-10-08', level: 'unknown', level_number: null, rule_set: null, published: false },
    ]);
    // 5 Oct compared with the previous published day (4 Oct, before `from`); 7 Oct with 5 Oct: no change
    expect(h.changes).toEqual([expect.objectContaining({ date: '2021-10-05', from: 'green', to: 'orange' })]);
    expect(h.changes[0].reason_text).toEqual({ vi: expect.any(String), en: h.changes[0].reason });

    const feed = await get('/v1/changes?since=2021-10-05&until=2021-10-08&version=published&kind=commune');
    expect(feed.version).toBe('published');
    expect(feed.items.filter((c: { code: string }) => c.code === 'C11')).toEqual([expect.objectContaining({ code: 'C11', date: '2021-10-05', from: 'green', to: 'orange', reason_text: expect.objectContaining({ vi: expect.any(String) }) })]);
    // nothing else moved on the published days
    expect(feed.items).toHaveLength(1);

    // the latest reading: green throughout, no change
    const latest = await get('/v1/zones/C11/history?from=2021-10-05&to=2021-10-08');
    expect(latest.days.map((d: { level: string }) => d.level)).toEqual(['green', 'green', 'green', 'green']);
    expect(latest.days.every((d: object) => !('published' in d))).toBe(true);
    expect(latest.changes).toEqual([]);
    expect((await get('/v1/changes?since=2021-10-05&until=2021-10-08')).items).toEqual([]);
  });

  test('published as known at as_of: the publications made by then', async () => {
    const asOf = encodeURIComponent(firstPublication);
    const h = await get(`/v1/zones/C11/history?from=2021-10-04&to=2021-10-07&version=published&as_of=${asOf}`);
    expect(h.days.map((d: { level: string; published: boolean }) => [d.level, d.published])).toEqual([
      ['green', true],
      ['unknown', false],
      ['unknown', false],
      ['unknown', false],
    ]);
    expect(h.changes).toEqual([]);
    expect((await get(`/v1/changes?since=2021-10-04&until=2021-10-07&version=published&as_of=${asOf}`)).items).toEqual([]);
  });

  test('the published feed comes in pages too; a cursor is for its version only', async () => {
    const page = await get('/v1/changes?since=2021-09-01&until=2021-10-10&version=published&kind=commune');
    expect(page.items).toEqual([]);
    expect(page.next_cursor).toEqual(expect.any(String));
    const next = await get(`/v1/changes?since=2021-09-01&until=2021-10-10&version=published&kind=commune&cursor=${page.next_cursor}`);
    expect(next.items.map((c: { code: string; date: string }) => [c.code, c.date])).toEqual([['C11', '2021-10-05']]);
    expect(next.next_cursor).toBeNull();
    await http().get(`/v1/changes?since=2021-09-01&until=2021-10-10&kind=commune&cursor=${page.next_cursor}`).expect(400);
  });

  test('zone answers and list items carry level_label; explanation steps carry text', async () => {
    const z = await get('/v1/zones/C11?date=2021-10-05&version=published');
    expect(z).toMatchObject({ level: 'orange', level_label: { vi: 'Cấp 3 – Nguy cơ cao', en: 'Level 3 – high risk' } });
    expect(z.explanation.length).toBeGreaterThan(0);
    for (const step of z.explanation) expect(step.text).toEqual({ vi: expect.any(String), en: expect.any(String) });
    const items = (await get('/v1/zones?date=2021-10-05&kind=commune')).items as { code: string; level: string; level_label: unknown }[];
    expect(items.find((i) => i.code === 'C11')).toMatchObject({ level: 'green', level_label: { vi: 'Cấp 1 – Nguy cơ thấp (bình thường mới)', en: 'Level 1 – low risk (new normal)' } });
    expect(items.find((i) => i.code === 'C22')).toMatchObject({ level: 'unknown', level_label: { vi: 'Chưa đủ dữ liệu', en: 'not enough data' } });
  });

  test('a change recorded by recomputation is the reason of that day; without one, the generic reason in both languages', async () => {
    // a level row of 9 Oct as a recomputation writes it, with why it changed from 8 Oct
    const change = { code: 'rules', vi: 'số ca mới / 100.000 dân, 7 ngày vượt 20', en: 'incidence 7d crossed 20/100k' };
    await ctx.db.knex.raw(
      `INSERT INTO zone_levels (area_id, date, level, raw_level, reason, since, rule_set_id, inputs, children, pending, persistence, change)
       SELECT area_id, date, 'yellow', 'yellow', reason, date, rule_set_id, inputs, children, pending, persistence, ?::jsonb
       FROM zone_levels WHERE area_id = (SELECT id FROM areas WHERE code = 'C11') AND date = '2021-10-09' ORDER BY computed_at DESC LIMIT 1`,
      [JSON.stringify(change)],
    );
    const h = await get('/v1/zones/C11/history?from=2021-10-08&to=2021-10-10');
    expect(h.changes).toEqual([
      // the Vietnamese is a sentence of its own: its first letter a capital
      { date: '2021-10-09', from: 'green', to: 'yellow', reason: change.en, reason_text: { vi: `S${change.vi.slice(1)}`, en: change.en } },
      { date: '2021-10-10', from: 'yellow', to: 'green', reason: 'de-escalated under the rules', reason_text: { vi: 'Giảm cấp theo tiêu chí', en: 'de-escalated under the rules' } },
    ]);
    const feed = (await get('/v1/changes?since=2021-10-08&until=2021-10-10&kind=commune')).items as { code: string }[];
    expect(feed.filter((c) => c.code === 'C11')).toEqual(h.changes.map((c: object) => ({ code: 'C11', name: 'Xã Long Bình', kind: 'commune', ...c })));
    // published: 9 Oct is compared with 7 Oct (the previous published day), which the recorded change does not speak of
    await http().post('/v1/publications').send({ date: '2021-10-09' }).expect(201);
    const published = await get('/v1/zones/C11/history?from=2021-10-08&to=2021-10-10&version=published');
    expect(published.changes).toEqual([expect.objectContaining({ date: '2021-10-09', from: 'orange', to: 'yellow', reason: 'de-escalated under the rules' })]);
    expect((await get('/v1/changes?since=2021-10-08&until=2021-10-10&kind=commune&version=published')).items).toEqual([
      expect.objectContaining({ code: 'C11', date: '2021-10-09', from: 'orange', to: 'yellow', reason: 'de-escalated under the rules', reason_text: { vi: 'Giảm cấp theo tiêu chí', en: 'de-escalated under the rules' } }),
    ]);
  });
});

test('a level held by persistence is explained by a step of its own after the rule steps', async () => {
  const held = { ...preset, name: 'test-held-4800', persistence: { deescalate_after_days: 3 } };
  await province('2021-10-01' as LocalDate, '2021-10-14' as LocalDate, { body: held, id: 'test-held-4800@1' });
  // 6 cases on 1 Oct: orange 1–7 Oct; the rules say green from 8 Oct, persistence holds orange two more days
  const res = await http().post('/v1/reports').send({ reports: [{ area: 'C11', date: '2021-10-01', community_cases: 6, quarantine_cases: 0 }] }).expect(200);
  await waitForJob(res.body.recompute.job);
  const z = await get('/v1/zones/C11?date=2021-10-08');
  expect(z).toMatchObject({ level: 'orange', computed_level: 'orange', pending: expect.objectContaining({ direction: 'down', target: 'green' }) });
  const steps = z.explanation as { step: number; result: string; text: { vi: string; en: string } }[];
  const last = steps[steps.length - 1];
  expect(steps[steps.length - 2]?.result).toBe('green'); // the rules' own level
  expect(last).toMatchObject({ result: 'orange', step: (steps[steps.length - 2]?.step ?? 0) + 1, text: { vi: expect.any(String), en: expect.any(String) } });
  // on a day where the rules' level is the level and nothing builds up: no such step
  const quiet = await get('/v1/zones/C11?date=2021-10-12');
  expect(quiet.level).toBe('green');
  expect(quiet.explanation[quiet.explanation.length - 1].result).toBe('green');
  expect(quiet.explanation).toHaveLength(steps.length - 1);
}, 60_000);

test('a span the wrong way round names the query’s own parameters', async () => {
  const feed = await http().get('/v1/changes?since=2021-10-10&until=2021-10-01&kind=commune').expect(400);
  expect(feed.body.error.details).toEqual([{ path: 'since', message: 'must not be after until' }]);
  const history = await http().get('/v1/zones/C11/history?from=2021-10-10&to=2021-10-01').expect(400);
  expect(history.body.error.details).toEqual([{ path: 'from', message: 'must not be after to' }]);
});
