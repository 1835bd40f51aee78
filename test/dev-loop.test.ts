import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../src/paths';

/**
 * The developer loop (docs/OPERATIONS.md, Developer loop): `npm start` builds only what
 * changed — TypeScript through `tsc -b` with its state inside dist/, the map page through
 * web/build.mjs, which skips esbuild when its inputs are unchanged — and `npm test` ends with
 * the skipped tests and why, with no warning lines of its own.
 */
const node = process.execPath;
const jestBin = path.join(projectRoot, 'node_modules', 'jest', 'bin', 'jest.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-dev-loop-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the build is incremental: tsc -b, its build state inside dist/ (deleting dist/ starts over)', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.build).toMatch(/^tsc -b tsconfig\.build\.json && node web\/build\.mjs$/);
  expect(pkg.scripts.prestart).toBe('npm run build');
  const shown = spawnSync(node, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '--showConfig', '-p', 'tsconfig.build.json'], { cwd: projectRoot, encoding: 'utf8' });
  expect(shown.status).toBe(0);
  const { compilerOptions } = JSON.parse(shown.stdout) as { compilerOptions: { incremental?: boolean; tsBuildInfoFile?: string; outDir: string } };
  expect(compilerOptions.incremental).toBe(true);
  const outDir = path.resolve(projectRoot, compilerOptions.outDir);
  expect(path.resolve(projectRoot, compilerOptions.tsBuildInfoFile ?? '').startsWith(`${outDir}${path.sep}`)).toBe(true);
});

describe('web/build.mjs skips an unchanged page', () => {
  // a copy of the page and its build script (the real dist/web is left alone), node_modules linked
  const root = path.join(tmp, 'repo');
  const build = (...args: string[]) => spawnSync(node, [path.join(root, 'web', 'build.mjs'), ...args], { cwd: root, encoding: 'utf8' });
  const bundle = path.join(root, 'dist', 'web', 'app.js');
  const stamp = () => fs.statSync(bundle).mtimeMs;
  beforeAll(() => {
    fs.mkdirSync(path.join(root, 'web'), { recursive: true });
    fs.cpSync(path.join(projectRoot, 'web', 'src'), path.join(root, 'web', 'src'), { recursive: true });
    fs.copyFileSync(path.join(projectRoot, 'web', 'build.mjs'), path.join(root, 'web', 'build.mjs'));
    fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  });

  test('first build, then skipped; an edited input, or --force, builds again', () => {
    expect(build().status).toBe(0);
    const first = stamp();
    const inputs = JSON.parse(fs.readFileSync(path.join(root, 'dist', 'web', '.inputs.json'), 'utf8')) as { inputs: Record<string, string> };
    expect(Object.keys(inputs.inputs)).toContain(path.join(root, 'web', 'src', 'main.js'));

    const again = build();
    expect(again.status).toBe(0);
    expect(stamp()).toBe(first); // not written again

    fs.appendFileSync(path.join(root, 'web', 'src', 'main.js'), '\n// edited\n');
    expect(build().status).toBe(0);
    const edited = stamp();
    expect(edited).toBeGreaterThan(first);

    expect(build().status).toBe(0);
    expect(stamp()).toBe(edited);
    expect(build('--force').status).toBe(0);
    expect(stamp()).toBeGreaterThan(edited);

    fs.rmSync(bundle); // an output gone: built again
    expect(build().status).toBe(0);
    expect(fs.existsSync(bundle)).toBe(true);
  });
});

test('a jest run ends with its skipped tests and why, after the summary', () => {
  const dir = path.join(tmp, 'suite');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'a.test.js'), "test('runs', () => expect(1).toBe(1));\ntest.skip('GDAL is not installed here: apt-get install -y gdal-bin', () => undefined);\n");
  fs.writeFileSync(path.join(dir, 'b.test.js'), "describe('tiles', () => { test.skip('needs Chromium', () => undefined); });\n");
  const config = { rootDir: dir, testMatch: ['**/*.test.js'], transform: {}, reporters: ['default', path.join(projectRoot, 'test', 'helpers', 'skipped-reporter.js')] };
  const run = spawnSync(node, [jestBin, '--config', JSON.stringify(config)], { cwd: dir, encoding: 'utf8' });
  expect(run.status).toBe(0);
  const out = run.stderr;
  const list = out.slice(out.indexOf('Skipped tests'));
  expect(out.indexOf('Skipped tests')).toBeGreaterThan(out.indexOf('Ran all test suites'));
  expect(list).toContain('Skipped tests (2 in 2 files)');
  expect(list).toMatch(/a\.test\.js\n\s+○ GDAL is not installed here: apt-get install -y gdal-bin/);
  expect(list).toMatch(/b\.test\.js\n\s+○ tiles › needs Chromium/);
});

test("npm test's jest configuration prints no warning: no ts-jest deprecation, no log lines", () => {
  // a suite run with the project's own configuration (its transform, setup and reporters)
  const run = spawnSync(node, [jestBin, '--runTestsByPath', 'test/domain/levels.test.ts'], { cwd: projectRoot, encoding: 'utf8', env: { ...process.env, ZONERISK_LOG_LEVEL: '' } });
  expect(run.status).toBe(0);
  expect(run.stderr).not.toMatch(/WARN|deprecated/i);
  expect(run.stderr).not.toMatch(/^\{"level"/m);
  expect(run.stderr).toMatch(/Tests:\s+\d+ passed/);
});
