import { execFile } from 'node:child_process';
import { appRoutes, OPERATIONS } from '../../src/http/openapi';
import { testContext } from '../helpers/context';

/** /openapi.json: valid OpenAPI 3.1 (checked by an independent validator) and complete. */
const ctx = testContext();
afterAll(() => ctx.close());

/** @seriousme/openapi-schema-validator is an ES module: it runs in its own Node process. */
function validate(doc: unknown): Promise<{ valid: boolean; version: string; errors?: unknown }> {
  const script = `import('@seriousme/openapi-schema-validator').then(async ({ Validator }) => {
    const v = new Validator();
    const r = await v.validate(JSON.parse(require('fs').readFileSync(0, 'utf8')));
    process.stdout.write(JSON.stringify({ ...r, version: v.version }));
  })`;
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['-e', script], { timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))));
    child.stdin?.end(JSON.stringify(doc));
  });
}

test('a valid OpenAPI 3.1 document', async () => {
  const doc = (await ctx.http().get('/openapi.json').expect(200)).body;
  expect(doc.openapi).toBe('3.1.0');
  const result = await validate(doc);
  expect(result).toMatchObject({ valid: true, version: '3.1' });
});

test('it lists every route the app registers, and nothing else', async () => {
  const doc = (await ctx.http().get('/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
  const registered = appRoutes(ctx.app);
  expect(registered.length).toBeGreaterThan(40);
  expect(registered.filter((r) => !OPERATIONS[r])).toEqual([]); // every route has its entry
  expect(documented.sort()).toEqual([...registered].sort());
});

test('parameters and bodies come from the validating zod schemas', async () => {
  const doc = (await ctx.http().get('/openapi.json').expect(200)).body;
  const reports = doc.paths['/v1/reports'].post;
  const row = reports.requestBody.content['application/json'].schema.properties.reports.items;
  expect(row.required).toEqual(expect.arrayContaining(['area', 'date', 'community_cases', 'quarantine_cases']));
  expect(row.properties.community_cases).toMatchObject({ type: 'integer', minimum: 0 });
  expect(Object.keys(reports.requestBody.content)).toEqual(['application/json', 'text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet']);
  expect(reports.security).toEqual([{ apiKey: [] }]);
  const zoom = doc.paths['/v1/zones.geojson'].get.parameters.find((p: { name: string }) => p.name === 'zoom');
  expect(zoom).toMatchObject({ in: 'query', required: false });
  const code = doc.paths['/v1/zones/{code}'].get.parameters.find((p: { name: string }) => p.name === 'code');
  expect(code).toMatchObject({ in: 'path', required: true });
});

test('/docs renders the document locally', async () => {
  const res = await ctx.http().get('/docs').expect(200);
  expect(res.headers['content-type']).toMatch(/text\/html/);
  expect(res.text).toContain('/ui/docs.js');
  await ctx.http().get('/ui/docs.js').expect(200);
});
