import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { testContext } from '../helpers/context';

/**
 * The /ogc/api document as the app serves it passes `redocly lint` with the recommended
 * rules: no errors (warnings are printed, not failed on). Redocly's own CLI from
 * node_modules, on a copy saved to a temporary file.
 */
const run = promisify(execFile);
const ctx = testContext();
const REDOCLY = path.join(__dirname, '../../node_modules/.bin/redocly');
afterAll(() => ctx.close());

type Problem = { ruleId: string; severity: 'error' | 'warn'; message: string; location: { pointer?: string }[] };

test('redocly lint (recommended) finds no error in /ogc/api', async () => {
  const res = await ctx.http().get('/ogc/api').expect(200);
  expect(res.headers['content-type']).toMatch(/^application\/vnd\.oai\.openapi\+json;\s*version=3\.0/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-ogc-lint-'));
  try {
    const file = path.join(dir, 'ogc-api.json');
    fs.writeFileSync(file, res.text);
    // exit status 1 on errors: the report is read either way
    const out = await run(REDOCLY, ['lint', file, '--extends', 'recommended', '--format', 'json'], { cwd: dir, timeout: 120_000 }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
    const report = JSON.parse(out.stdout) as { totals: { errors: number; warnings: number }; problems: Problem[] };
    const errors = report.problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`);
    expect(errors).toEqual([]);
    expect(report.totals.errors).toBe(0);
    // the recommended rules' warnings too: none today, kept at none
    expect(report.problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer ?? ''}`)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
