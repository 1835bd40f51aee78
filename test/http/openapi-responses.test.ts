import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Response } from 'supertest';
import { RESPONSES } from '../../src/http/responses';
import { OPERATIONS } from '../../src/http/openapi';
import { testContext } from '../helpers/context';

/**
 * The answers are what the document says: real answers of the main routes (over the demo
 * data, after real writes) are checked against their operation's response schema in
 * /openapi.json (JSON Schema 2020-12 with Ajv: an undeclared field, a wrong type or a missing
 * one fails) and against the zod schema the code types them with. A schema that drifts from
 * the answer fails here. (Answers are not parsed when served: it costs, on the hot paths.)
 */
// the handlers' `reply` checks each answer against its zod schema too (a drift is a 500)
process.env.ZONERISK_CHECK_RESPONSES = '1';
const ctx = testContext();
afterAll(async () => {
  delete process.env.ZONERISK_CHECK_RESPONSES;
  await ctx.close();
});

const END = '2021-10-20';
type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> };
let doc: Doc;
let ajv: Ajv2020;

beforeAll(async () => {
  await ctx.demo(END as never, 10);
  doc = (await ctx.http().get('/openapi.json').expect(200)).body as Doc;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...doc, $id: 'openapi.json' });
});

const pointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Checks an answer against the document (status and media type as declared) and the zod schema. */
function conforms(key: string, res: Response): void {
  const [method, path] = key.split(' ') as [string, string];
  const op = doc.paths[path]?.[method.toLowerCase()];
  expect({ key, documented: op !== undefined }).toEqual({ key, documented: true });
  // a status of its own, or its class (4XX, 5XX)
  const status = op?.responses[String(res.status)] ? String(res.status) : `${String(res.status)[0]}XX`;
  const declared = op?.responses[status];
  expect({ key, status: res.status, declared: declared !== undefined }).toEqual({ key, status: res.status, declared: true });
  const media = Object.keys(declared?.content ?? {})[0] as string;
  expect(res.headers['content-type']).toContain(media);
  const ref = `openapi.json#/paths/${pointer(path)}/${method.toLowerCase()}/responses/${status}/content/${pointer(media)}/schema`;
  const validate = ajv.compile({ $ref: ref });
  const body: unknown = res.body;
  const ok = validate(body);
  expect({ key, errors: ok ? [] : (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`) }).toEqual({ key, errors: [] });
  if (res.status >= 400) return;
  const zod = RESPONSES[key]?.schema.safeParse(body);
  expect({ key, zod: zod?.success ? 'ok' : zod?.error.issues.slice(0, 5) }).toEqual({ key, zod: 'ok' });
}

test('every operation declares its answer', () => {
  expect(Object.keys(OPERATIONS).filter((k) => !RESPONSES[k])).toEqual([]);
  expect(Object.keys(RESPONSES).filter((k) => !OPERATIONS[k])).toEqual([]);
});

test('reads: the answers match their declared schemas', async () => {
  const h = () => ctx.http();
  const zones = await h().get(`/v1/zones?date=${END}`).expect(200);
  conforms('GET /v1/zones', zones);
  const items = zones.body.items as { code: string; kind: string }[];
  const commune = items.find((i) => i.kind === 'commune')?.code as string;
  const province = items.find((i) => i.kind === 'province')?.code as string;
  const reads: [string, string][] = [
    ['GET /v1/zones', `/v1/zones?date=${END}&figures=true&kind=commune`],
    ['GET /v1/zones/{code}', `/v1/zones/${commune}?date=${END}`],
    ['GET /v1/zones/{code}', `/v1/zones/${province}?date=${END}`],
    ['GET /v1/zones/{code}/history', `/v1/zones/${commune}/history?from=2021-10-05&to=${END}`],
    ['GET /v1/zones/{code}/history', `/v1/zones/${commune}/history?from=2021-10-05&to=${END}&version=published`],
    ['GET /v1/summary', `/v1/summary?date=${END}`],
    ['GET /v1/summary', `/v1/summary?date=${END}&kind=district&parent=${province}`],
    ['GET /v1/changes', `/v1/changes?until=${END}`],
    ['GET /v1', '/v1'],
    ['GET /health', '/health'],
    ['GET /ready', '/ready'],
    ['GET /ui/config.json', '/ui/config.json'],
    ['GET /v1/areas', '/v1/areas?kind=district'],
    ['GET /v1/areas/{code}', `/v1/areas/${commune}`],
    ['GET /v1/areas/{code}/reports', `/v1/areas/${commune}/reports?from=2021-10-15&to=${END}&revisions=true`],
    ['GET /v1/areas/{code}/metrics', `/v1/areas/${province}/metrics?from=2021-10-15&to=${END}`],
    ['GET /v1/areas/{code}/lineage', `/v1/areas/${commune}/lineage`],
    ['GET /v1/reorganisations', '/v1/reorganisations'],
    ['GET /v1/import-profiles', '/v1/import-profiles'],
    ['GET /v1/rule-sets', '/v1/rule-sets'],
    ['GET /v1/rule-sets/timeline', '/v1/rule-sets/timeline'],
    ['GET /v1/rule-sets/presets', '/v1/rule-sets/presets'],
    ['GET /v1/rule-sets/{id}', '/v1/rule-sets/vn-moh-4800-2021@1'],
    ['GET /v1/jobs', '/v1/jobs'],
    ['GET /v1/jobs/{id}', '/v1/jobs/1'],
    ['GET /v1/briefing', `/v1/briefing?date=${END}&parent=${province}`],
    ['GET /v1/publications', '/v1/publications'],
    ['GET /v1/zones.geojson', `/v1/zones.geojson?date=${END}&zoom=8&kind=district`],
    ['GET /ogc', '/ogc'],
    ['GET /ogc/conformance', '/ogc/conformance'],
    ['GET /ogc/collections', '/ogc/collections'],
    ['GET /ogc/collections/{id}', '/ogc/collections/zones'],
    ['GET /ogc/collections/{id}/queryables', '/ogc/collections/zones/queryables'],
    ['GET /ogc/collections/{id}/schema', '/ogc/collections/zones/schema'],
    ['GET /ogc/collections/{id}/feature-schema', '/ogc/collections/zones/feature-schema'],
    ['GET /ogc/collections/{id}/items', `/ogc/collections/zones/items?limit=3&datetime=${END}`],
    ['GET /ogc/collections/{id}/items/{featureId}', `/ogc/collections/zones/items/${commune}?datetime=${END}`],
    ['GET /tiles/zones.json', '/tiles/zones.json'],
    ['GET /v1/keys', '/v1/keys'],
    ['GET /v1/webhooks', '/v1/webhooks'],
    ['GET /v1/audit', '/v1/audit?limit=20'],
    ['GET /v1/imports', '/v1/imports'],
  ];
  for (const [key, url] of reads) conforms(key, await h().get(url));
});

test('writes: the answers match their declared schemas', async () => {
  const h = () => ctx.http();
  const items = (await h().get(`/v1/zones?date=${END}&kind=commune`).expect(200)).body.items as { code: string }[];
  const code = items[0]?.code as string;
  conforms('POST /v1/rule-sets/{id}/preview', await h().post(`/v1/rule-sets/vn-moh-4800-2021@1/preview?date=${END}`));
  conforms('POST /v1/recompute', await h().post('/v1/recompute').send({ date: END }));
  conforms('POST /v1/publications', await h().post('/v1/publications').send({ date: END, note: 'tuần 42' }));
  conforms('POST /v1/publications', await h().post('/v1/publications').send({ date: END }));
  const key = await h().post('/v1/keys').send({ role: 'reporter', scope: [code], name: 'xã' });
  conforms('POST /v1/keys', key);
  conforms('DELETE /v1/keys/{id}', await h().delete(`/v1/keys/${key.body.id}`));
  const set = await h().post(`/v1/zones/${code}/overrides`).send({ level: 'red', reason: 'ổ dịch', from: '2021-10-18' });
  conforms('POST /v1/zones/{code}/overrides', set);
  conforms('GET /v1/zones/{code}', await h().get(`/v1/zones/${code}?date=${END}`));
  conforms('GET /v1/zones', await h().get(`/v1/zones?date=${END}&figures=true&kind=commune`));
  conforms('DELETE /v1/zones/{code}/overrides/{id}', await h().delete(`/v1/zones/${code}/overrides/${set.body.id}?from=${END}`));
  const again = await h().post(`/v1/zones/${code}/overrides`).send({ level: 'orange', reason: 'nhầm', from: END });
  conforms('POST /v1/zones/{code}/overrides/{id}/withdraw', await h().post(`/v1/zones/${code}/overrides/${again.body.id}/withdraw`).send({ reason: 'nhập nhầm' }));
  conforms('POST /v1/areas/{code}/aliases', await h().post(`/v1/areas/${code}/aliases`).send({ aliases: ['Xã Thử'] }));
  conforms('GET /v1/areas/{code}/aliases', await h().get(`/v1/areas/${code}/aliases`));
  conforms('POST /v1/import-profiles', await h().post('/v1/import-profiles').send({ name: 'so-y-te', kind: 'reports', map: { area_name: 'Tên xã' } }));
  conforms('GET /v1/import-profiles/{name}', await h().get('/v1/import-profiles/so-y-te'));
  const row = { area: code, date: END, community_cases: 3, quarantine_cases: 1 };
  conforms('POST /v1/reports', await h().post('/v1/reports?dry_run=true').send({ reports: [row] }));
  conforms('POST /v1/reports', await h().post('/v1/reports').send({ reports: [row] }));
  conforms('POST /v1/metrics', await h().post('/v1/metrics').send({ metrics: [{ area: code, date: END, name: 'vaccination_18plus_1dose_pct', value: 91.5 }] }));
  conforms('GET /v1/imports', await h().get('/v1/imports'));
  conforms('GET /v1/imports/{id}', await h().get('/v1/imports/1'));
  conforms('POST /v1/rule-sets', await h().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }));
  conforms('POST /v1/rule-sets/{id}/activate', await h().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: END }));
  conforms('GET /v1/audit', await h().get('/v1/audit?limit=50'));
  conforms('GET /v1/zones/{code}/history', await h().get(`/v1/zones/${code}/history?from=2021-10-05&to=${END}`));
});

test('errors: the shared error body', async () => {
  conforms('GET /v1/zones/{code}', await ctx.http().get('/v1/zones/NOPE?date=2021-02-30'));
  conforms('GET /v1/zones/{code}', await ctx.http().get('/v1/zones/NOPE'));
  conforms('POST /v1/recompute', await ctx.http().post('/v1/recompute').send({ date: 'yesterday' }));
});

test('the check has teeth: an undeclared field, a missing one or a wrong type fails', async () => {
  const items = (await ctx.http().get(`/v1/zones?date=${END}&kind=commune`).expect(200)).body.items as { code: string }[];
  const res = await ctx.http().get(`/v1/zones/${items[0]?.code as string}?date=${END}`).expect(200);
  const validate = ajv.compile({ $ref: `openapi.json#/paths/${pointer('/v1/zones/{code}')}/get/responses/200/content/application~1json/schema` });
  expect(validate(res.body)).toBe(true);
  expect(validate({ ...res.body, levle: 'red' })).toBe(false);
  const { level: _level, ...without } = res.body as { level: string };
  expect(validate(without)).toBe(false);
  expect(validate({ ...res.body, level: 'purple' })).toBe(false);
  expect(validate({ ...res.body, population: '12' })).toBe(false);
  expect(validate({ ...res.body, rule_set: { ...res.body.rule_set, extra: 1 } })).toBe(false);
});
