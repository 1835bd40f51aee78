import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { VectorTile } from '@mapbox/vector-tile';
import Protobuf from 'pbf';
import { Stage, stages } from './dockerfile';
import { Service, startProcess } from '../helpers/service';

/**
 * The image's content, proven without a container engine: the runtime stage of the
 * Dockerfile is read (test/deploy/dockerfile.ts), EXACTLY the files its COPY lines copy are
 * assembled under a temporary root (`COPY --from=build` ones taken from this repository's
 * `npm run build` output: the same paths the build stage produces), production dependencies
 * are installed there from the lockfile as the stage's `npm ci` does, and the stage's CMD is
 * started as a non-root user (uid 65534, as `USER node` would be) with the stage's ENV and no
 * DATABASE_URL: the embedded engine must create its data directory in the stage's volume,
 * migrate, load the demo and serve the map page, the API document, /ready and a tile. Its
 * HEALTHCHECK command is run against it, and SIGTERM (its STOPSIGNAL) must end it cleanly.
 *
 * Slow (npm ci and the embedded first start: a minute or two). ZONERISK_SKIP_IMAGE_TEST=1
 * skips it, saying so.
 */
const run = promisify(execFile);
const repo = path.resolve(__dirname, '..', '..');
const SKIP = process.env.ZONERISK_SKIP_IMAGE_TEST === '1';
if (SKIP) process.stdout.write('test/deploy/image.test.ts skipped: ZONERISK_SKIP_IMAGE_TEST=1 (the image content test is off)\n');
const describeImage = SKIP ? describe.skip : describe;

const UID = 65534; // nobody: any non-root user; the image's `node` is 1000, absent on a CI machine
const dockerfile = fs.readFileSync(path.join(repo, 'Dockerfile'), 'utf8');
const all = stages(dockerfile);
const runtime = all[all.length - 1]!;

/** The major of a `node:<major>…` image. */
function nodeMajor(image: string): number {
  const m = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)(?:[-.@]|$)/.exec(image);
  if (!m) throw new Error(`not an official node image with a major version: ${image}`);
  return Number(m[1]);
}

/** The lowest major that package.json "engines.node" allows (">=26", ">=26.1", "^26"). */
function enginesMajor(): number {
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { engines?: { node?: string } };
  const range = pkg.engines?.node ?? '';
  const m = /^\s*(?:>=|\^|~)?\s*v?(\d+)(?:\.\d+){0,2}\s*$/.exec(range);
  if (!m) throw new Error(`package.json engines.node is not a simple lower bound: "${range}"`);
  return Number(m[1]);
}

/** .dockerignore's patterns, in order (a `!` pattern re-includes). */
function ignored(rel: string): boolean {
  const file = path.join(repo, '.dockerignore');
  if (!fs.existsSync(file)) return false;
  let out = false;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = path.posix.normalize(line.replace(/^!/, '').replace(/^\/+/, '').replace(/\/+$/, ''));
    const hit = rel.split('/').some((_, i, parts) => path.matchesGlob(parts.slice(0, i + 1).join('/'), pattern));
    if (hit) out = !negated;
  }
  return out;
}

/** Where a COPY source is in this repository: the build context, or a build stage's output. */
function sourceInRepo(from: string | null, source: string): string {
  if (from === null) {
    const rel = path.posix.normalize(source.replace(/^\/+/, ''));
    if (rel.startsWith('..')) throw new Error(`COPY source outside the build context: ${source}`);
    if (ignored(rel)) throw new Error(`COPY ${source}: excluded by .dockerignore, the build would fail`);
    return path.join(repo, rel);
  }
  const stage = all.find((s) => s.name === from);
  if (!stage || all.indexOf(stage) >= all.indexOf(runtime)) throw new Error(`COPY --from=${from}: no earlier stage of that name`);
  const abs = path.posix.resolve(stage.workdir, source);
  const rel = path.posix.relative(stage.workdir, abs);
  if (rel.startsWith('..')) throw new Error(`COPY --from=${from} ${source}: outside the stage's WORKDIR ${stage.workdir}, which is this repository`);
  return path.join(repo, rel);
}

/**
 * Copies what the stage's COPY lines copy under `root` (the image's /), as Docker does: a
 * directory's contents into the destination, a file into a destination ending in / (or given
 * several sources) under its own name, else as the destination. Returns the files copied,
 * relative to the stage's WORKDIR.
 */
function assemble(stage: Stage, root: string): string[] {
  const copied: string[] = [];
  for (const c of stage.copies) {
    const dest = path.posix.resolve(stage.workdir, c.dest);
    const intoDir = c.dest.endsWith('/') || c.sources.length > 1;
    for (const source of c.sources) {
      const from = sourceInRepo(c.from, source);
      if (!fs.existsSync(from)) {
        throw new Error(`Dockerfile line ${c.line}: COPY ${c.from ? `--from=${c.from} ` : ''}${source}: ${path.relative(repo, from)} does not exist${c.from ? ' (run npm run build first)' : ''}`);
      }
      const target = path.join(root, fs.statSync(from).isDirectory() || !intoDir ? dest : path.posix.join(dest, path.basename(source)));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.cpSync(from, target, { recursive: true });
      const files = fs.statSync(target).isDirectory() ? (fs.readdirSync(target, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name))) : [target];
      copied.push(...files.map((f) => path.relative(path.join(root, stage.workdir), f)));
    }
  }
  return copied;
}

/** The stage's CMD as the non-root user (setpriv when the tests run as root), in the image's file set. */
function start(cmd: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Service> {
  const [exe, ...args] = cmd;
  if (exe !== 'node') throw new Error(`CMD does not start with node: ${cmd.join(' ')}`);
  const argv = process.getuid?.() === 0 ? ['setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', '--', process.execPath, ...args] : [process.execPath, ...args];
  return startProcess(env, timeoutMs, argv, cwd);
}

/** The z/x/y of the tile holding a point. */
function tileOf(lon: number, lat: number, z: number): { z: number; x: number; y: number } {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return { z, x: Math.floor(((lon + 180) / 360) * n), y: Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n) };
}

describe('Dockerfile', () => {
  test('the reader: flags kept, continued lines joined, comments dropped; ADD, a heredoc, a parser directive refused', () => {
    const [build, run] = stages('FROM node:26 AS build\nWORKDIR /app\nFROM node:26\n# a comment\nCOPY --from=build \\\n  /app/dist ./dist\nHEALTHCHECK --interval=5s CMD ["node", "-e", "1"]\n');
    expect(build!.name).toBe('build');
    expect(run!.copies).toEqual([{ from: 'build', sources: ['/app/dist'], dest: './dist', line: 5 }]);
    expect(run!.healthcheck).toEqual({ options: { interval: '5s' }, cmd: ['node', '-e', '1'] });
    expect(() => stages('FROM node:26\nADD x.tar /\n')).toThrow(/ADD is not supported/);
    expect(() => stages('FROM node:26\nRUN <<EOF\necho\nEOF\n')).toThrow(/heredoc|not supported/);
    expect(() => stages('# escape=`\nFROM node:26\n')).toThrow(/parser directives/);
  });

  test('the runtime stage: Node of package.json engines, non-root, a data volume, health check on /ready, graceful stop', () => {
    const major = enginesMajor();
    for (const s of all) expect({ stage: s.name, major: nodeMajor(s.image) }).toEqual({ stage: s.name, major });
    // the tests run under that major too (CI's Node is the image's)
    expect(Number(process.versions.node.split('.')[0])).toBe(major);

    expect(runtime.user).toBeTruthy();
    expect(['root', '0', '0:0']).not.toContain(runtime.user);
    expect(runtime.env.ZONERISK_DATA_DIR).toBeTruthy();
    expect(runtime.volumes).toContain(runtime.env.ZONERISK_DATA_DIR);
    // the volume's directory exists and belongs to the user before the volume is declared
    expect(runtime.runs.some((r) => r.includes(`mkdir -p ${runtime.env.ZONERISK_DATA_DIR}`) && r.includes(`chown ${runtime.user}`))).toBe(true);
    expect(runtime.expose).toContain(runtime.env.PORT);
    expect(runtime.stopSignal).toBe('SIGTERM');
    expect(runtime.healthcheck?.cmd.join(' ')).toMatch(/\/ready\b/);
    expect(runtime.cmd).toEqual(['node', 'bin/zonerisk.js', 'serve']);
    // production dependencies only, without the root's "prepare" (the build)
    const install = runtime.runs.find((r) => /\bnpm ci\b/.test(r)) ?? '';
    expect(install).toMatch(/--omit=dev/);
    expect(install).toMatch(/--ignore-scripts/);
    // nothing is copied from the build context that is not in the repository or is ignored
    for (const s of all) for (const c of s.copies.filter((x) => x.from === null)) for (const src of c.sources) expect(fs.existsSync(sourceInRepo(null, src))).toBe(true);
  });
});

describeImage(`the runtime image, assembled from its COPY lines and started as a non-root user${SKIP ? ' (skipped: ZONERISK_SKIP_IMAGE_TEST=1)' : ''}`, () => {
  let tmp = '';
  let root = ''; // the image's /
  let app = '';
  let dataDir = '';
  let home = '';
  let copied: string[] = [];
  let svc: Service | null = null;
  let npmOutput = '';

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-image-'));
    fs.chmodSync(tmp, 0o755);
    root = path.join(tmp, 'root');
    app = path.join(root, runtime.workdir);
    dataDir = path.join(root, runtime.env.ZONERISK_DATA_DIR ?? '/data');
    home = path.join(root, 'home', 'nobody');
    copied = assemble(runtime, root);
    // RUN npm ci --omit=dev …: from the lockfile, as root (the files stay root's, readable by all)
    const env = { ...process.env };
    delete env.DATABASE_URL;
    const r = await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, env, maxBuffer: 64 * 2 ** 20 });
    npmOutput = `${r.stdout}\n${r.stderr}`;
    // RUN mkdir -p /data && chown node:node /data, and the user's home
    for (const dir of [dataDir, home]) {
      fs.mkdirSync(dir, { recursive: true });
      if (process.getuid?.() === 0) fs.chownSync(dir, UID, UID);
    }
    for (let d = path.dirname(dataDir); d.startsWith(root); d = path.dirname(d)) fs.chmodSync(d, 0o755);
  }, 600_000);

  afterAll(async () => {
    if (svc && svc.proc.exitCode === null) svc.proc.kill('SIGKILL');
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('holds the built service, the page and the demo data; no sources, benchmarks, tests or dev dependencies', () => {
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'bin/zonerisk.js', 'dist/src/cli.js', 'dist/web/app.js', 'web/index.html', 'web/docs.html']));
    for (const absent of ['src', 'bench', 'test', 'dist/bench', 'dist/test', 'tsconfig.json', 'node_modules/typescript', 'node_modules/esbuild', 'node_modules/jest']) {
      expect({ absent, exists: fs.existsSync(path.join(app, absent)) }).toEqual({ absent, exists: false });
    }
    expect(copied.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(fs.existsSync(path.join(app, 'node_modules', 'maplibre-gl', 'dist', 'maplibre-gl.js'))).toBe(true);
    // npm agrees with the engines field under this Node
    expect(npmOutput).not.toMatch(/EBADENGINE/);
  });

  test('starts on the embedded engine in its volume and serves the map page, /docs, /ready and a tile', async () => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      ...runtime.env,
      ZONERISK_DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      ZONERISK_LOG_LEVEL: 'info',
    };
    svc = await start(runtime.cmd!, app, env, 360_000);
    const { url, logs } = svc;
    expect(logs.some((l) => l.includes('demo data loaded'))).toBe(true);
    // the non-root user created the engine's files in the volume
    const made = fs.readdirSync(dataDir);
    expect(made.length).toBeGreaterThan(0);
    if (process.getuid?.() === 0) for (const f of made) expect(fs.statSync(path.join(dataDir, f)).uid).toBe(UID);

    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(200);

    // the map page, and every file it links (bundle, MapLibre, icon)
    const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    const linked = [...html.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1]!);
    expect(linked).toEqual(expect.arrayContaining(['/ui/bundle/app.js', '/vendor/maplibre-gl.js']));
    for (const asset of linked) expect({ asset, status: (await fetch(`${url}${asset}`)).status }).toEqual({ asset, status: 200 });

    const docs = await fetch(`${url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/text\/html/);
    for (const asset of [...(await docs.text()).matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1]!)) {
      expect({ asset, status: (await fetch(`${url}${asset}`)).status }).toEqual({ asset, status: 200 });
    }

    // a tile from the TileJSON's own template, at the middle of the data's bounds
    const tilejson = (await (await fetch(`${url}/tiles/zones.json`)).json()) as { tiles: string[]; bounds: [number, number, number, number] };
    const [w, s, e, n] = tilejson.bounds;
    const t = tileOf((w + e) / 2, (s + n) / 2, 8);
    const tileUrl = tilejson.tiles[0]!.replace('{z}', String(t.z)).replace('{x}', String(t.x)).replace('{y}', String(t.y));
    const tile = await fetch(new URL(new URL(tileUrl).pathname + new URL(tileUrl).search, url));
    expect(tile.status).toBe(200);
    expect(tile.headers.get('content-type')).toMatch(/application\/(vnd\.mapbox-vector-tile|x-protobuf)/);
    const bytes = Buffer.from(await tile.arrayBuffer());
    expect(bytes.length).toBeGreaterThan(0);
    const vt = new VectorTile(new Protobuf(bytes));
    const features = Object.values(vt.layers).reduce((sum, l) => sum + l.length, 0);
    expect(features).toBeGreaterThan(0);

    // the image's HEALTHCHECK command, as the engine would run it (same user, the service's port)
    const [hexe, ...hargs] = runtime.healthcheck!.cmd;
    expect(hexe).toBe('node');
    const port = new URL(url).port;
    const hArgv = process.getuid?.() === 0 ? ['setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', '--', process.execPath, ...hargs] : [process.execPath, ...hargs];
    await expect(run(hArgv[0]!, hArgv.slice(1), { cwd: app, env: { ...env, PORT: port } })).resolves.toBeDefined();

    // STOPSIGNAL: a clean exit
    const proc = svc.proc;
    proc.removeAllListeners('exit');
    const code = await new Promise<number | null>((resolve) => {
      proc.once('exit', (c) => resolve(c));
      proc.kill(runtime.stopSignal as NodeJS.Signals);
    });
    expect(code).toBe(0);
    // no Node warning (deprecations, experimental features) on this Node
    expect(logs.filter((l) => /^\(node:\d+\)|Warning:/.test(l))).toEqual([]);
  }, 540_000);
});
