import http from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { Config, ConfigError, loadConfig } from '../../src/config';
import { createApp } from '../../src/http/app';
import { createRuntime } from '../../src/runtime';
import { appRoutes, OPERATIONS } from '../../src/http/openapi';
import { smallProvince } from '../helpers/fixtures';
import { TEST_ADMIN_KEY, testContext } from '../helpers/context';

/**
 * Absolute links (OGC API, TileJSON) are built on configuration — ZONERISK_PUBLIC_URL, or a
 * trusted proxy's X-Forwarded-Host — or on the address the request arrived on; never on the
 * request's Host. Every GET route of the app is asked with `Host: evil.example` (and forwarded
 * headers naming it from an untrusted client): the name appears in no body and no header.
 */
const ctx = testContext();
const DAY = '2021-10-05';
const EVIL = 'evil.example';

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string };

/** A GET over a real socket with the headers given (Host included); an event stream is read for 400 ms. */
function get(port: number, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('latin1') });
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', done);
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        setTimeout(() => {
          res.destroy();
          done();
        }, 400);
      }
    });
    req.on('error', reject);
    req.end();
  });
}

async function listen(app: Express): Promise<{ server: Server; port: number }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, port: (server.address() as AddressInfo).port };
}
const close = (server: Server) => new Promise((r) => server.close(r));

let jobId = 1;
beforeAll(async () => {
  await ctx.reset();
  await ctx.http().post('/v1/areas').send(smallProvince()).expect(200);
  await ctx.http().post('/v1/reports').send({ reports: ['C11', 'C12', 'C21'].map((area) => ({ area, date: DAY, community_cases: 4, quarantine_cases: 1 })) }).expect(200);
  await ctx.http().post('/v1/rule-sets').send({ preset: 'vn-moh-4800-2021' }).expect(201);
  await ctx.http().post('/v1/rule-sets/vn-moh-4800-2021@1/activate').send({ effective_from: '2021-01-01' }).expect(200);
  jobId = (await ctx.http().post('/v1/recompute').send({ date: DAY }).expect(200)).body.job?.id ?? 1;
});
afterAll(() => ctx.close());

/** A sample value for each path parameter of the app's routes; a new name fails the test until it is added here. */
function samplePath(route: string): string {
  const [, path = ''] = route.split(' ');
  const fill: Record<string, string> = { code: 'C11', featureId: 'C11', z: '0', x: '0', y: '0', file: 'app.js', name: 'gso-communes' };
  return path.replace(/\{([A-Za-z_]+)\}/g, (_m, name: string) => {
    if (name === 'id') {
      if (path.startsWith('/v1/rule-sets/')) return 'vn-moh-4800-2021@1';
      if (path.startsWith('/ogc/collections/')) return 'zones';
      if (path.startsWith('/v1/jobs/')) return String(jobId);
      return '1';
    }
    const v = fill[name];
    if (v === undefined) throw new Error(`no sample value for {${name}} in ${route}: add one to samplePath`);
    return v;
  });
}

/** Queries that make the link-bearing answers carry the most links. */
const QUERY: Record<string, string> = {
  '/ogc/collections/zones/items': `?limit=1&offset=1&datetime=${DAY}`,
  '/tiles/zones.json': `?date=${DAY}&kind=commune`,
  '/v1/zones.geojson': `?date=${DAY}`,
};

describe('Host: evil.example appears in no response', () => {
  test('every GET route, with and without a key, as declared and re-spelled, JSON and not', async () => {
    const routes = [...new Set([...appRoutes(ctx.app), ...Object.keys(OPERATIONS)])].filter((r) => r.startsWith('GET '));
    expect(routes.length).toBeGreaterThan(30);
    const { server, port } = await listen(ctx.app);
    const hostile = { Host: EVIL, 'X-Forwarded-Host': EVIL, 'X-Forwarded-Proto': 'https', Forwarded: `host=${EVIL};proto=https`, 'X-Forwarded-Server': EVIL, 'X-Host': EVIL, 'X-Original-Host': EVIL };
    const statuses: Record<number, number> = {};
    let asked = 0;
    try {
      for (const route of routes) {
        const path = samplePath(route);
        const withQuery = path + (QUERY[path] ?? '');
        const spellings = [withQuery, path.toUpperCase(), `${path}/`];
        for (const p of spellings) {
          for (const extra of [{}, { Authorization: `Bearer ${TEST_ADMIN_KEY}` }, { Accept: 'application/json' }] as Record<string, string>[]) {
            const a = await get(port, p, { ...hostile, ...extra });
            asked++;
            statuses[a.status] = (statuses[a.status] ?? 0) + 1;
            expect(a.status).toBeLessThan(500);
            const where = `${route} as ${p} ${JSON.stringify(extra)}`;
            expect({ where, found: a.body.toLowerCase().includes(EVIL) }).toEqual({ where, found: false });
            expect({ where, found: JSON.stringify(a.headers).toLowerCase().includes(EVIL) }).toEqual({ where, found: false });
          }
        }
      }
      // the link-bearing answers were really answered, with links on the listening address
      const ogc = JSON.parse((await get(port, `/ogc/collections/zones/items${QUERY['/ogc/collections/zones/items']}`, hostile)).body) as { links: { rel: string; href: string }[] };
      expect(ogc.links.map((l) => l.rel).sort()).toEqual(['next', 'prev', 'self']);
      for (const l of ogc.links) expect(l.href.startsWith(`http://127.0.0.1:${port}/ogc/collections/zones/items?`)).toBe(true);
      const tilejson = JSON.parse((await get(port, '/tiles/zones.json', hostile)).body) as { tiles: string[] };
      expect(tilejson.tiles).toEqual([`http://127.0.0.1:${port}/tiles/zones/{z}/{x}/{y}.mvt?kind=commune`]);
    } finally {
      await close(server);
    }
    process.stdout.write(`Host test: ${routes.length} GET routes, ${asked} requests, statuses ${JSON.stringify(statuses)}\n`);
  }, 120_000);
});

describe('origins from configuration', () => {
  const appWith = (over: Partial<Config>) => createApp(createRuntime({ ...ctx.config, ...over }, ctx.db));
  const linksOf = async (app: Express, headers: Record<string, string>) => {
    const { server, port } = await listen(app);
    try {
      const landing = JSON.parse((await get(port, '/ogc', headers)).body) as { links: { rel: string; href: string }[] };
      const tiles = (JSON.parse((await get(port, '/tiles/zones.json', headers)).body) as { tiles: string[] }).tiles[0];
      const api = JSON.parse((await get(port, '/ogc/api', headers)).body) as { servers: { url: string }[] };
      return { self: landing.links.find((l) => l.rel === 'self')?.href, data: landing.links.find((l) => l.rel === 'data')?.href, tiles, server: api.servers[0]?.url, port };
    } finally {
      await close(server);
    }
  };
  const forwarded = { Host: EVIL, 'X-Forwarded-Host': 'zonerisk.example.vn', 'X-Forwarded-Proto': 'https' };

  test('ZONERISK_PUBLIC_URL with a base path: every link on it, whatever the headers', async () => {
    const config = loadConfig({ ZONERISK_PUBLIC_URL: 'https://zonerisk.example.vn/base/' });
    expect(config.publicUrl).toBe('https://zonerisk.example.vn/base');
    const links = await linksOf(appWith({ publicUrl: config.publicUrl, trustProxy: ['loopback'] }), { ...forwarded, 'X-Forwarded-Host': EVIL });
    expect(links).toMatchObject({
      self: 'https://zonerisk.example.vn/base/ogc',
      data: 'https://zonerisk.example.vn/base/ogc/collections',
      tiles: 'https://zonerisk.example.vn/base/tiles/zones/{z}/{x}/{y}.mvt?kind=commune',
      server: 'https://zonerisk.example.vn/base/ogc',
    });
  });

  test("a trusted proxy's forwarded host and proto are used; an untrusted client's are not", async () => {
    const trusted = await linksOf(appWith({ trustProxy: ['127.0.0.1'] }), forwarded);
    expect(trusted).toMatchObject({ self: 'https://zonerisk.example.vn/ogc', tiles: 'https://zonerisk.example.vn/tiles/zones/{z}/{x}/{y}.mvt?kind=commune' });
    const hops = await linksOf(appWith({ trustProxy: 1 }), forwarded);
    expect(hops.self).toBe('https://zonerisk.example.vn/ogc');
    // the proxy is another machine: this client's headers count for nothing
    const untrusted = await linksOf(appWith({ trustProxy: ['10.0.0.1', '192.168.0.0/16'] }), forwarded);
    expect(untrusted.self).toBe(`http://127.0.0.1:${untrusted.port}/ogc`);
    // a forwarded host that is not a host name is not used either
    const odd = await linksOf(appWith({ trustProxy: ['loopback'] }), { ...forwarded, 'X-Forwarded-Host': 'x.vn/"><script>' });
    expect(odd.self).toBe(`http://127.0.0.1:${odd.port}/ogc`);
  });

  test('start-up refuses unfit values, naming the variable', () => {
    for (const [value, expected] of [
      ['https://zonerisk.example.vn', 'https://zonerisk.example.vn'],
      ['http://10.0.0.5:8080/', 'http://10.0.0.5:8080'],
      ['https://Example.VN/a/b//', 'https://example.vn/a/b'],
    ] as const) {
      expect(loadConfig({ ZONERISK_PUBLIC_URL: value }).publicUrl).toBe(expected);
    }
    for (const value of ['zonerisk.example.vn', 'ftp://x.vn', 'https://user:pw@x.vn', 'https://x.vn/?a=1', 'https://x.vn/#top', 'https://x.vn/a b', '/base']) {
      expect(() => loadConfig({ ZONERISK_PUBLIC_URL: value })).toThrow(ConfigError);
      expect(() => loadConfig({ ZONERISK_PUBLIC_URL: value })).toThrow(/ZONERISK_PUBLIC_URL/);
    }
    expect(loadConfig({ ZONERISK_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ ZONERISK_TRUST_PROXY: '10.0.0.1, 10.1.0.0/16,loopback,::1,fd00::/8' }).trustProxy).toEqual(['10.0.0.1', '10.1.0.0/16', 'loopback', '::1', 'fd00::/8']);
    expect(loadConfig({}).trustProxy).toBeNull();
    for (const value of ['true', '0', '11', '10.0.0.300', '10.0.0.0/33', 'proxy.local', '10.0.0.1,,10.0.0.2']) {
      expect(() => loadConfig({ ZONERISK_TRUST_PROXY: value })).toThrow(/ZONERISK_TRUST_PROXY/);
    }
  });
});
