import request from 'supertest';
import { LocalDate } from '../../src/domain/dates';
import { seedDemo } from '../../seeds';
import { testContext } from '../helpers/context';
import { serviceEnv, startProcess, stopProcess } from '../helpers/service';

/**
 * Behind a reverse proxy (ZONERISK_TRUST_PROXY): the proxy's X-Forwarded-For names the client,
 * and per-client rate limits, the refusal limit (src/http/auth.ts), the request log and
 * links use it. supertest connects from 127.0.0.1: that address plays the proxy. Without the
 * setting (or from a peer it does not name) X-Forwarded-For counts for nothing: a client
 * cannot spoof another address to get a fresh bucket.
 */
const base = testContext();
afterAll(() => base.close());
beforeAll(async () => {
  await base.reset();
  await seedDemo(base.db, '2021-10-31' as LocalDate);
});

const A = '203.0.113.7';
const B = '198.51.100.23';
const read = (app: Parameters<typeof request>[0], xff?: string) => {
  const r = request(app).get('/v1/areas?limit=1');
  return xff === undefined ? r : r.set('X-Forwarded-For', xff);
};

describe('rate limits by the real client behind a trusted proxy', () => {
  test('two forwarded clients draw on two buckets: one is limited, the other still passes', async () => {
    const proxied = testContext({ trustProxy: ['loopback'], readRate: 3 });
    try {
      for (let i = 0; i < 3; i++) await read(proxied.app, A).expect(200);
      const refused = await read(proxied.app, A).expect(429);
      expect(refused.body.error).toMatchObject({ code: 'rate_limited' });
      await read(proxied.app, B).expect(200);
      // the proxy appends to what the client sent: the right-most untrusted address counts
      await read(proxied.app, `${A}, ${B}`).expect(200);
      await read(proxied.app, `${B}, ${A}`).expect(429);
    } finally {
      await proxied.close();
    }
  });

  test('a hop count trusts that many proxies', async () => {
    const hops = testContext({ trustProxy: 1, readRate: 2 });
    try {
      await read(hops.app, A).expect(200);
      await read(hops.app, A).expect(200);
      await read(hops.app, A).expect(429);
      await read(hops.app, `${A}, ${B}`).expect(200); // one hop: the last address is the client
    } finally {
      await hops.close();
    }
  });

  test('without a trust setting every forwarded client shares the peer address bucket (no spoofing)', async () => {
    const direct = testContext({ readRate: 3 });
    try {
      await read(direct.app, A).expect(200);
      await read(direct.app, B).expect(200);
      await read(direct.app).expect(200);
      const refused = await read(direct.app, '192.0.2.99').expect(429);
      expect(refused.body.error).toMatchObject({ code: 'rate_limited' });
    } finally {
      await direct.close();
    }
  });

  test('from a peer the setting does not name, X-Forwarded-For is ignored', async () => {
    const elsewhere = testContext({ trustProxy: ['10.0.0.1', '192.168.0.0/16'], readRate: 2 });
    try {
      await read(elsewhere.app, A).expect(200);
      await read(elsewhere.app, B).expect(200);
      await read(elsewhere.app, '192.0.2.99').expect(429);
    } finally {
      await elsewhere.close();
    }
  });

  test('the refusal limit (invalid keys) counts per forwarded client too', async () => {
    const proxied = testContext({ trustProxy: ['loopback'], refusalRate: 2 });
    try {
      const guess = (xff: string) => request(proxied.app).get('/v1/areas?limit=1').set('X-Forwarded-For', xff).set('Authorization', 'Bearer not-a-key-at-all');
      await guess(A).expect(401);
      await guess(A).expect(401);
      const blocked = await guess(A).expect(429);
      expect(blocked.headers['retry-after']).toBeDefined();
      await guess(B).expect(401); // another client behind the same proxy is not locked out
    } finally {
      await proxied.close();
    }
  });
});

test("a started service logs the forwarded client's address and builds links on the forwarded host", async () => {
  const svc = await startProcess(serviceEnv({ ZONERISK_TRUST_PROXY: 'loopback' }));
  try {
    const res = await fetch(`${svc.url}/tiles/zones.json`, { headers: { 'X-Forwarded-For': A, 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'zonerisk.example.vn' } });
    expect(res.status).toBe(200);
    const tilejson = (await res.json()) as { tiles: string[] };
    expect(tilejson.tiles[0]).toMatch(/^https:\/\/zonerisk\.example\.vn\/tiles\//);
    const untrusted = await fetch(`${svc.url}/health`, { headers: { 'X-Request-Id': 'proxy-test-direct' } });
    expect(untrusted.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    const lines = svc.logs.map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } }).filter((e) => e.msg === 'request');
    expect(lines.find((e) => e.path === '/tiles/zones.json')).toMatchObject({ client: A, status: 200 });
    expect(lines.find((e) => e.req_id === 'proxy-test-direct')).toMatchObject({ client: '127.0.0.1' });
  } finally {
    await stopProcess(svc);
  }
});
