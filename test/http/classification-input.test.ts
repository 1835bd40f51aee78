import { smallProvince } from '../helpers/fixtures';
import { rowCounts, testContext } from '../helpers/context';

/** Bad input to the classification endpoints: a clear 4xx naming the field, nothing written. */
const ctx = testContext();
const http = () => ctx.http();
afterAll(() => ctx.close());
beforeAll(async () => {
  await ctx.reset();
  await http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
});

const json = (method: 'post' | 'delete', path: string, body?: unknown) => {
  const r = method === 'post' ? http().post(path) : http().delete(path);
  return body === undefined ? r : r.set('Content-Type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body));
};

test.each([
  ['recompute with an impossible date', () => json('post', '/v1/recompute', { date: '2021-02-30' }), 422, 'date'],
  ['recompute with from after to', () => json('post', '/v1/recompute', { from: '2021-10-10', to: '2021-10-01' }), 422, 'from'],
  ['recompute with malformed JSON', () => json('post', '/v1/recompute', '{"date":'), 400, null],
  ['recompute without an active rule set', () => json('post', '/v1/recompute', { date: '2021-10-01' }), 409, null],
  ['override with an unknown level', () => json('post', '/v1/zones/C11/overrides', { level: 'purple', reason: 'x', from: '2021-10-01' }), 422, 'level'],
  ['override with until before from', () => json('post', '/v1/zones/C11/overrides', { level: 'red', reason: 'x', from: '2021-10-05', until: '2021-10-01' }), 422, 'until'],
  ['override without a reason', () => json('post', '/v1/zones/C11/overrides', { level: 'red', from: '2021-10-05' }), 422, 'reason'],
  ['override of an unknown area', () => json('post', '/v1/zones/NOPE/overrides', { level: 'red', reason: 'x', from: '2021-10-01' }), 404, null],
  ['ending an override that does not exist', () => json('delete', '/v1/zones/C11/overrides/999'), 404, null],
  ['ending an override with a bad id', () => json('delete', '/v1/zones/C11/overrides/abc'), 400, 'id'],
  ['zones with a bad as_of', () => http().get('/v1/zones?as_of=yesterday'), 400, 'as_of'],
  ['zones as of an instant without its offset', () => http().get('/v1/zones?as_of=2021-10-20T08:00:00'), 400, 'as_of'],
  ['history as of an instant without its offset', () => http().get('/v1/zones/C11/history?as_of=2021-10-20T08:00'), 400, 'as_of'],
  ['zones with a date given twice', () => http().get('/v1/zones?date=2021-10-01&date=2021-10-02'), 400, 'date'],
  ['OGC items with a limit given twice', () => http().get('/ogc/collections/communes/items?limit=1&limit=2'), 400, 'limit'],
  ['zones with a second date past a thousand parameters (the query parser would drop it)', () => http().get(`/v1/zones?date=2021-10-01${'&'.repeat(1000)}date=2021-10-02`), 400, '(query)'],
  ['zones with 101 parameters', () => http().get(`/v1/zones?${Array.from({ length: 101 }, () => 'kind=commune').join('&')}`), 400, '(query)'],
  ['zones with a bad date', () => http().get('/v1/zones?date=2021-13-01'), 400, 'date'],
  ['zones with an unknown parameter', () => http().get('/v1/zones?colour=red'), 400, '(root)'],
  ['zones published when nothing was published', () => http().get('/v1/zones?date=2021-10-01&version=published'), 404, null],
  ['history of an unknown area', () => http().get('/v1/zones/NOPE/history'), 404, null],
  ['history over too long a range', () => http().get('/v1/zones/C11/history?from=2000-01-01&to=2021-01-01'), 400, 'to'],
  ['a job that does not exist', () => http().get('/v1/jobs/999'), 404, null],
  ['a job id that is not a number', () => http().get('/v1/jobs/abc'), 400, 'id'],
  ['a malformed rule-set id', () => http().get('/v1/rule-sets/not an id'), 400, '(root)'],
  ['activating an unknown rule set', () => json('post', '/v1/rule-sets/nope@1/activate'), 404, null],
  ['a publication of an impossible date', () => json('post', '/v1/publications', { date: '2021-02-30' }), 422, 'date'],
  ['a summary under an unknown parent', () => http().get('/v1/summary?parent=NOPE'), 404, null],
] as const)('%s → %i', async (_name, send, status, path) => {
  const before = await rowCounts(ctx.db);
  const res = await send().expect(status);
  expect(res.body.error.code).toEqual(expect.any(String));
  expect(res.body.error.message).toEqual(expect.any(String));
  if (path) expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  expect(await rowCounts(ctx.db)).toEqual(before);
});
