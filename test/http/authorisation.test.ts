import http from 'node:http';
import net, { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { Access, Declaration, guardOf } from '../../src/http/access';
import { routeTableOf } from '../../src/http/app';
import { GuessCounter } from '../../src/http/auth';
import { createHttpServer } from '../../src/http/server';
import { appRoutes } from '../../src/http/openapi';
import { smallProvince } from '../helpers/fixtures';
import { rowCounts, testContext, TestContext } from '../helpers/context';

/**
 * The authorisation table, generated from the app's own route declarations: every route ×
 * every kind of caller × many spellings of its path × public and private reads. A route
 * registered without a declaration fails the first test; a new declaration is tried by the
 * rest without anyone writing a line for it.
 */
// a one-segment path (/briefing) has spellings that are the path itself: ten admitted callers at
// once, past ZONERISK_MAX_BRIEFINGS=2 (two running, four waiting) — a 503 busy this table is not about
const pub = testContext({ publicReads: true, maxBriefings: 4 });
const priv = testContext({ publicReads: false, maxBriefings: 4 });
afterAll(async () => {
  await pub.close();
  await priv.close();
});

type Role = 'none' | 'wrong' | 'revoked' | 'reader' | 'reporter_in' | 'reporter_out' | 'admin';
const ROLES: Role[] = ['none', 'wrong', 'revoked', 'reader', 'reporter_in', 'reporter_out', 'admin'];
const keys: Partial<Record<Role, string>> = {};

/** Sample values of path parameters: what exists (C11, in reporter D1's scope) or a harmless miss. */
const PARAMS: Record<string, string> = { code: 'C11', id: '999999', featureId: 'C11', z: '8', x: '204', y: '120', file: 'app.js' };
const fill = (path: string) => path.replace(/:([A-Za-z]+)/g, (_m, name: string) => PARAMS[name] ?? 'x');

/**
 * Other spellings of one path: the gate must judge them as the declared one. (Letter-case
 * spellings change only the first literal letters, so that parameters keep their values.)
 */
function spellings(path: string): [string, string][] {
  if (path === '/') return [['canonical', '/'], ['double slash', '//'], ['dot segment', '/./'], ['encoded dot', '/%2e/']];
  const upperFirst = path.replace(/[a-z]/, (c) => c.toUpperCase());
  return [
    ['canonical', path],
    ['upper case', path.replace(/^\/[a-z]+/, (s) => s.toUpperCase())],
    ['mixed case', upperFirst],
    ['trailing slash', `${path}/`],
    ['double slash', path.replace(/^\//, '//').replace(/\/([^/]+)$/, '//$1')],
    ['percent-encoded letter', path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`)],
    ['percent-encoded slash', path.replace(/\/([^/]+)$/, '%2F$1').replace(/^%2F/, '/')],
    ['dot segment', path.replace(/^\//, '/./')],
    ['dot-dot segment', path.replace(/^\/([^/]+)/, '/$1/zz/..')],
    ...(path.lastIndexOf('/') > 0 ? [['backslash', path.replace(/\/([^/]+)$/, '\\$1')] as [string, string]] : []),
  ];
}

/** A body that a write route takes to a harmless end (a reporter's report names an area in or out of scope). */
function bodyFor(d: Declaration, role: Role): { type: string; text: string } {
  if (d.path === '/v1/reports') return { type: 'application/json', text: JSON.stringify({ reports: [{ area: role === 'reporter_out' ? 'C21' : 'C11', date: '2021-10-01', community_cases: 1, quarantine_cases: 0 }] }) };
  if (d.path === '/v1/metrics') return { type: 'application/json', text: JSON.stringify({ metrics: [{ area: role === 'reporter_out' ? 'C21' : 'C11', date: '2021-10-01', name: 'treatment_capacity_ok', value: 1 }] }) };
  return { type: 'application/json', text: '{}' };
}

type Answer = { status: number; location?: string | undefined };

/**
 * Whether `location` takes a request for `spelled` to `path`: relative, and resolved by a
 * browser (WHATWG) and by an RFC 3986 client alike, at the root and under a proxy's prefix;
 * absolute (`path` itself) for a spelling with a dot segment or a backslash, which the two
 * kinds of client resolve differently.
 */
const redirectsTo = (location: string | undefined, spelled: string, path: string): boolean => {
  if (location === undefined) return false;
  if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(spelled) || spelled.includes('\\')) return location === path;
  return (
    !location.startsWith('/') &&
    ['', '/zonerisk', '/a/b'].every((prefix) => new URL(location, `http://h${prefix}${spelled}`).pathname === `${prefix}${path}` && rfc3986(`${prefix}${spelled}`, location) === `${prefix}${path}`)
  );
};

/**
 * RFC 3986 §5.2 for a relative-path reference: merged with the base path's directory, then
 * dot segments removed (§5.2.4) — nothing percent-decoded, as curl and Python resolve.
 */
function rfc3986(basePath: string, ref: string): string {
  let input = basePath.slice(0, basePath.lastIndexOf('/') + 1) + ref;
  let output = '';
  const up = () => (output = output.slice(0, Math.max(0, output.lastIndexOf('/'))));
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./') || input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../')) (input = input.slice(3)), up();
    else if (input === '/..') (input = '/'), up();
    else if (input === '.' || input === '..') input = '';
    else {
      const end = input.indexOf('/', 1);
      const segment = end < 0 ? input : input.slice(0, end);
      output += segment;
      input = input.slice(segment.length);
    }
  }
  return output;
}

/** A raw HTTP request: the path goes on the wire exactly as spelled (no client normalises it). */
function send(port: number, method: string, path: string, key: string | undefined, body?: { type: string; text: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    if (body) {
      headers['content-type'] = body.type;
      headers['content-length'] = String(Buffer.byteLength(body.text));
    }
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const answer = { status: res.statusCode ?? 0, location: res.headers.location };
      // an event stream never ends: its head is the answer
      if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        res.destroy();
        resolve(answer);
        return;
      }
      res.resume();
      res.on('end', () => resolve(answer));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body?.text);
  });
}

/**
 * What a caller may do with a route of this access: admitted, or refused with 401 / 403. A
 * reporter's area scope is checked by the write itself, so only on the declared spelling
 * (any other is redirected there first).
 */
function expected(access: Access, role: Role, publicReads: boolean, path: string, declaredSpelling: boolean): 'ok' | 401 | 403 {
  if (role === 'wrong' || role === 'revoked') return 401;
  if (access === 'public') return 'ok';
  if (access === 'read') return role === 'none' && !publicReads ? 401 : 'ok';
  if (role === 'none') return 401;
  if (role === 'admin') return 'ok';
  if (role === 'reader') return 403;
  if (access === 'report') return role === 'reporter_out' && declaredSpelling && (path === '/v1/reports' || path === '/v1/metrics') ? 403 : 'ok';
  return 403;
}

const listen = (app: Express) =>
  new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });

async function setUp(ctx: TestContext) {
  await ctx.reset();
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
  keys.reader = (await ctx.http().post('/v1/keys').send({ role: 'reader' }).expect(201)).body.key;
  const out = (await ctx.http().post('/v1/keys').send({ role: 'reporter', scope: ['D1'] }).expect(201)).body;
  keys.reporter_in = out.key;
  keys.reporter_out = out.key; // the same key: C11 is inside its scope, C21 outside
  const revoked = (await ctx.http().post('/v1/keys').send({ role: 'reader' }).expect(201)).body;
  await ctx.http().delete(`/v1/keys/${revoked.id}`).expect(200);
  keys.revoked = revoked.key;
  keys.wrong = 'zr_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
  keys.admin = 'test-admin-key-not-secret';
}

test('every registered route is declared, and begins with the guard of its declaration', () => {
  const table = routeTableOf(pub.app);
  const declared = new Set(table.declarations.map((d) => `${d.method} ${d.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`));
  const registered = appRoutes(pub.app);
  expect(registered.filter((r) => !declared.has(r))).toEqual([]);
  expect([...declared].filter((r) => !registered.includes(r))).toEqual([]);
  // and no route of the app can run a handler before its guard
  type Layer = { route?: { path: string; stack: { handle: unknown; method?: string }[] }; handle?: { stack?: Layer[] } };
  const unguarded: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const first = layer.route.stack[0]?.handle;
        const d = guardOf(first);
        if (!d || d.path !== layer.route.path) unguarded.push(layer.route.path);
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((pub.app as unknown as { router: { stack: Layer[] } }).router.stack);
  expect(unguarded).toEqual([]);
  expect(table.declarations.length).toBeGreaterThan(50);
});

test('the whole table: route × caller × spelling × public/private reads', async () => {
  await setUp(pub); // one database: both apps read it
  const servers = await Promise.all([listen(pub.app), listen(priv.app)]);
  const failures: string[] = [];
  let cells = 0;
  try {
    for (const [ctx, server, publicReads] of [
      [pub, servers[0], true],
      [priv, servers[1], false],
    ] as const) {
      const port = (server.address() as AddressInfo).port;
      for (const d of routeTableOf(ctx.app).declarations) {
        const path = fill(d.path);
        const jobs: Promise<void>[] = [];
        for (const role of ROLES) {
          for (const [spelling, spelled] of spellings(path)) {
            const want = expected(d.access, role, publicReads, d.path, spelled === path);
            jobs.push(
              send(port, d.method, spelled, keys[role], d.method === 'GET' ? undefined : bodyFor(d, role)).then((got) => {
                cells++;
                const where = `${d.method} ${spelled} [${spelling}] as ${role}, ${publicReads ? 'public' : 'private'} reads`;
                if (got.status >= 500) failures.push(`${where}: ${got.status}`);
                else if (want !== 'ok' && got.status !== want) failures.push(`${where}: ${got.status}, expected ${want}`);
                else if (want === 'ok' && (got.status === 401 || got.status === 403)) failures.push(`${where}: ${got.status}, expected admission`);
                else if (want === 'ok' && spelled !== path && got.status !== 308) failures.push(`${where}: ${got.status}, expected 308 to ${path}`);
                // the Location is relative: resolved against the request as a client sent it, also under a proxy's prefix
                else if (want === 'ok' && spelled !== path && !redirectsTo(got.location, spelled, path)) failures.push(`${where}: redirected to ${got.location}, expected ${path}`);
              }),
            );
          }
        }
        await Promise.all(jobs);
      }
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
  // eslint-disable-next-line no-console
  console.log(`authorisation table: ${cells} cells tried (${routeTableOf(pub.app).declarations.length} routes × ${ROLES.length} callers × spellings × public/private reads), ${failures.length} wrong`);
  expect(failures.filter((f, i) => i < 20 || !failures.slice(0, i).some((g) => g.split(" ")[1] === f.split(" ")[1])).slice(0, 60)).toEqual([]);
  // no write was ever made by nobody
  const anonymous = await pub.db.knex('audit_log').whereNotIn('actor', ['admin-key', 'system', 'cli']).whereNot('actor', 'like', 'key:%').count<{ count: string }[]>('* as count');
  expect(Number(anonymous[0]?.count)).toBe(0);
});

test('no spelling of a write path reaches its handler without a key: nothing is written', async () => {
  await setUp(pub);
  const before = await rowCounts(pub.db);
  const server = await listen(pub.app);
  const port = (server.address() as AddressInfo).port;
  try {
    const writes = routeTableOf(pub.app).declarations.filter((d) => d.method !== 'GET');
    for (const d of writes) {
      for (const [, spelled] of spellings(fill(d.path))) {
        const got = await send(port, d.method, spelled, undefined, bodyFor(d, 'reporter_in'));
        expect([d.method, spelled, got.status]).toEqual([d.method, spelled, 401]);
      }
      // and paths that match nothing at all
      const got = await send(port, d.method, `${fill(d.path)}/nothing-here`, undefined, bodyFor(d, 'reporter_in'));
      expect(got.status).toBe(401);
    }
  } finally {
    await new Promise((r) => server.close(r));
  }
  expect(await rowCounts(pub.db)).toEqual(before);
});

test('key guesses are limited per address without a lookup; keys seen valid and anonymous callers go on', async () => {
  const ctx = testContext({ refusalRate: 3 });
  try {
    const server = await listen(ctx.app);
    const port = (server.address() as AddressInfo).port;
    try {
      const admin = 'test-admin-key-not-secret';
      const junk = 'zr_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
      expect((await send(port, 'GET', '/v1/areas', admin)).status).toBe(200);
      const reader = await new Promise<string>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/keys', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve((JSON.parse(text) as { key: string }).key));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ role: 'reader' }));
      });
      // anonymous refusals are no guesses: they do not count
      for (let i = 0; i < 5; i++) expect((await send(port, 'POST', '/v1/reports', undefined, { type: 'application/json', text: '{}' })).status).toBe(401);
      for (let i = 0; i < 3; i++) expect((await send(port, 'GET', '/v1/areas', junk)).status).toBe(401);
      expect((await send(port, 'GET', '/v1/areas', junk)).status).toBe(429);
      expect((await send(port, 'GET', '/v1/areas', `${junk.slice(0, -1)}c`)).status).toBe(429);
      // a key not seen valid lately waits; one seen valid goes on; nobody's public read stops
      expect((await send(port, 'GET', '/v1/areas', reader)).status).toBe(429);
      expect((await send(port, 'GET', '/v1/areas', admin)).status).toBe(200);
      expect((await send(port, 'GET', '/v1/areas', undefined)).status).toBe(200);
      expect((await send(port, 'GET', '/health', undefined)).status).toBe(200);
    } finally {
      await new Promise((r) => server.close(r));
    }
  } finally {
    await ctx.close();
  }
});

test('the guess counter: a window per client, a bounded table', () => {
  const g = new GuessCounter(2, 1000, 3);
  g.guessed('a', 0);
  g.guessed('a', 10);
  expect(g.blocked('a', 't', 20)).toBe(true);
  expect(g.blocked('b', 't', 20)).toBe(false);
  expect(g.retryAfterSeconds('a', 20)).toBe(1);
  expect(g.blocked('a', 't', 1001)).toBe(false); // its own window ended
  g.valid('good', 5);
  g.guessed('c', 1000);
  g.guessed('c', 1000);
  expect(g.blocked('c', 'good', 1001)).toBe(false);
  expect(g.blocked('c', 'other', 1001)).toBe(true);
  // a flood of addresses drops the oldest, it does not grow the table or switch counting off
  for (let i = 0; i < 10; i++) g.guessed(`x${i}`, 1002);
  g.guessed('new', 1003);
  g.guessed('new', 1003);
  expect(g.blocked('new', 'other', 1004)).toBe(true);
});

test('a refused upload is not read: no 100 Continue before the gate, the connection closed after', async () => {
  const server = createHttpServer(pub.app, { headersTimeoutSeconds: 15, requestTimeoutSeconds: 120 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const firstAnswer = (key: string | null) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`POST /v1/areas HTTP/1.1\r\nHost: x\r\n${key ? `Authorization: Bearer ${key}\r\n` : ''}Content-Type: application/json\r\nContent-Length: 2000000000\r\nExpect: 100-continue\r\n\r\n`);
      });
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
        if (text.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
  try {
    const refused = await firstAnswer(null);
    expect(refused.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(refused.toLowerCase()).toContain('connection: close');
    expect((await firstAnswer('test-admin-key-not-secret')).split('\r\n')[0]).toBe('HTTP/1.1 100 Continue');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('a spelling is judged by the declaration its normal form matches, not by a parameter route it also fits', () => {
  const table = routeTableOf(pub.app);
  const judged = (path: string) => {
    const f = table.find('GET', path);
    return f === 'bad_path' ? f : [f.declaration?.path, f.respell];
  };
  expect(judged('/ui/%63onfig.json')).toEqual(['/ui/config.json', '/ui/config.json']);
  expect(judged('/v1/rule-sets/%70resets')).toEqual(['/v1/rule-sets/presets', '/v1/rule-sets/presets']);
  expect(judged('/v1/zones/VNM.17.1_1')).toEqual(['/v1/zones/:code', null]);
  expect(judged('/v1/zones/Khu%20ph%E1%BB%91')).toEqual(['/v1/zones/:code', null]);
  expect(judged('/v1/zones/a%2Fhistory')).toEqual(['/v1/zones/:code/history', '/v1/zones/a/history']);
});

test('the rate limiter counts every spelling of a route as that route', async () => {
  const ctx = testContext({ readRate: 3 });
  try {
    const server = await listen(ctx.app);
    const port = (server.address() as AddressInfo).port;
    try {
      const statuses = [];
      for (const p of ['/v1/areas', '/V1/areas', '/v1//areas', '/v1/%61reas', '/v1/areas/']) statuses.push((await send(port, 'GET', p, undefined)).status);
      expect(statuses).toEqual([200, 308, 308, 429, 429]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  } finally {
    await ctx.close();
  }
});

test('broken percent-encoding is a 400 naming the path, not a 500', async () => {
  const server = await listen(pub.app);
  const port = (server.address() as AddressInfo).port;
  try {
    expect((await send(port, 'GET', '/v1/zones/%E0%A4%A', undefined)).status).toBe(400);
    expect((await send(port, 'POST', '/v1/%ZZreports', undefined, { type: 'application/json', text: '{}' })).status).toBe(401);
    expect((await send(port, 'POST', '/v1/%ZZreports', 'test-admin-key-not-secret', { type: 'application/json', text: '{}' })).status).toBe(400);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
