import http, { IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo, BlockList } from 'node:net';
import { networkInterfaces } from 'node:os';
import request from 'supertest';
import { Config, ConfigError, loadConfig } from '../../src/config';
import { createWebhook } from '../../src/db/events';
import { createApp } from '../../src/http/app';
import { createRuntime } from '../../src/runtime';
import { startWebhookWorker } from '../../src/jobs/webhooks';
import { webhookPolicy } from '../../src/net/targets';
import { checkTarget, notPublic, Resolve, ResolvedAddress, targetPolicy } from '../../src/net/targets';
import { TEST_ADMIN_KEY, testContext } from '../helpers/context';

/**
 * Webhooks reach no further than they should: targets are https, hold no credentials and
 * resolve to public addresses only — checked at registration (422 naming `url`) and again at
 * every delivery, connecting to the checked address only (DNS rebinding); the operator's
 * allow-list opens the own network. Every connection in this file goes to a loopback receiver;
 * names other than `localhost` are answered by an injected resolver, never by DNS.
 */
const ctx = testContext(); // the defaults: https only, no allow-list
const SECRET = 'whsec-test-0123456789abcdef';

let receiver: Server;
let port: number;
const hits: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
/** What the receiver answers next: a status, a body, headers. */
let answer: { status: number; body?: string; headers?: Record<string, string> } = { status: 200 };

const appWith = (overrides: Partial<Config>) => createApp(createRuntime({ ...ctx.config, ...overrides }, ctx.db));
const register = (app: ReturnType<typeof appWith>, url: string) => request(app).post('/v1/webhooks').set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).send({ url, secret: SECRET });
const strict = appWith({});
const LOOPBACK_ALLOWED: Partial<Config> = { webhookAllowHttp: true, webhookAllow: ['127.0.0.1/32'] };

beforeAll(async () => {
  await ctx.reset();
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ url: req.url ?? '', headers: req.headers, body });
      res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await new Promise((r) => receiver.once('listening', r));
  port = (receiver.address() as AddressInfo).port;
});
beforeEach(async () => {
  await ctx.db.knex.raw('TRUNCATE webhooks, webhook_deliveries RESTART IDENTITY CASCADE');
  hits.length = 0;
  answer = { status: 200 };
});
afterAll(async () => {
  await new Promise((r) => receiver.close(r));
  await ctx.close();
});

/** A webhook row and one pending delivery for it (no events needed). */
async function hookWithDelivery(url: string): Promise<{ hook: number; delivery: number }> {
  const hook = await createWebhook(ctx.db.knex, { url, secret: SECRET }, 'system');
  const [row] = (await ctx.db.knex('webhook_deliveries').insert({ webhook_id: hook.id, first_event_id: 1, last_event_id: 1, payload: JSON.stringify({ type: 'level_changes', events: [] }) }).returning('id')) as { id: string }[];
  return { hook: hook.id, delivery: Number(row?.id) };
}

/** One worker pass with a policy (and resolver), then the delivery log of a webhook. */
async function deliverOnce(hook: number, settings: Partial<Config>, resolve?: Resolve) {
  const worker = startWebhookWorker(ctx.db, { everyMs: 3_600_000, policy: webhookPolicy({ ...ctx.config, ...settings }), ...(resolve ? { resolve } : {}) });
  await worker.pass();
  await worker.stop();
  return (await request(strict).get(`/v1/webhooks/${hook}/deliveries`).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).expect(200)).body.items as Record<string, unknown>[];
}

/** A resolver answering from a table, each name with a sequence of answers (the last repeats). */
function resolverOf(table: Record<string, ResolvedAddress[][]>): Resolve & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const answers = table[hostname];
    if (!answers) throw Object.assign(new Error(`not in the test table: ${hostname}`), { code: 'ENOTFOUND' });
    const n = calls.filter((c) => c === hostname).length;
    return answers[Math.min(n, answers.length) - 1] as ResolvedAddress[];
  };
  return Object.assign(resolve, { calls });
}

test('registration refuses loopback, metadata, private, reserved and odd spellings of them, a name resolving to loopback, and credentials: 422 naming url', async () => {
  const refused: [string, RegExp][] = [
    [`https://127.0.0.1:5432/`, /loopback/],
    ['https://169.254.169.254/latest/meta-data/', /link-local/],
    ['https://10.0.0.1/', /private/],
    ['https://172.16.0.1/', /private/],
    ['https://192.168.1.1/', /private/],
    ['https://100.64.0.1/', /CGNAT/],
    ['https://[::1]/', /loopback/],
    ['https://0x7f000001/', /loopback/],
    ['https://2130706433/', /loopback/],
    ['https://127.1/', /loopback/],
    ['https://0177.0.0.1/', /loopback/],
    ['https://%31%32%37.0.0.1/', /loopback/],
    ['https://[::ffff:127.0.0.1]/', /loopback/],
    ['https://[::ffff:a9fe:a9fe]/', /link-local/],
    ['https://[64:ff9b::10.0.0.1]/', /private/],
    ['https://[2002:7f00:1::]/', /loopback/],
    ['https://[fe80::1]/', /link-local/],
    ['https://[fd00::1]/', /private/],
    ['https://[ff02::1]/', /multicast/],
    ['https://224.0.0.1/', /multicast/],
    ['https://255.255.255.255/', /broadcast/],
    ['https://0.0.0.0/', /unspecified/],
    ['https://[::]/', /unspecified/],
    ['https://240.0.0.1/', /reserved/],
    ['https://localhost/', /localhost resolves to a loopback address/],
    ['https://LOCALHOST./', /localhost resolves to a loopback address/],
    ['https://user:pass@example.com/', /credentials/],
    ['https://user@example.com/', /credentials/],
    ['http://example.com/', /https/],
  ];
  const got: string[] = [];
  for (const [url, reason] of refused) {
    const res = await register(strict, url);
    got.push(`${url} → ${res.status} ${res.body.error?.details?.[0]?.message}`);
    expect([url, res.status]).toEqual([url, 422]);
    expect(res.body.error.details).toEqual([{ path: 'url', message: expect.stringMatching(reason) }]);
    expect(JSON.stringify(res.body)).not.toContain('pass@');
  }
  // this machine's own (non-loopback) interface addresses: refused too
  const own = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4');
  if (own) await register(strict, `https://${own.address}/`).expect(422);
  expect(Number((await ctx.db.knex('webhooks').count<{ c: string }[]>('* as c'))[0]?.c)).toBe(0);
  console.log(`webhook targets refused at registration: ${got.length + (own ? 1 : 0)}`);
});

test('every address is classified: public ones pass, the special ones in IPv4, IPv6 and IPv4-in-IPv6 forms do not', () => {
  const pub: ResolvedAddress[] = [
    { address: '8.8.8.8', family: 4 },
    { address: '1.1.1.1', family: 4 },
    { address: '2606:4700:4700::1111', family: 6 },
    { address: '::ffff:8.8.8.8', family: 6 },
    { address: '64:ff9b::808:808', family: 6 },
    { address: '2002:808:808::1', family: 6 },
  ];
  for (const a of pub) expect([a.address, notPublic(a.address, a.family)]).toEqual([a.address, null]);
  const special: [string, 4 | 6][] = [
    ['127.255.255.254', 4], ['0.1.2.3', 4], ['169.254.0.1', 4], ['172.31.255.255', 4], ['100.127.255.255', 4],
    ['192.0.0.8', 4], ['192.0.2.1', 4], ['198.18.0.1', 4], ['198.51.100.1', 4], ['203.0.113.1', 4], ['239.255.255.250', 4],
    ['::ffff:10.1.2.3', 6], ['::ffff:c0a8:101', 6], ['64:ff9b::7f00:1', 6], ['64:ff9b:1::1', 6], ['2002:a00:1::', 6], ['2002:c0a8:101::', 6],
    ['2001::1', 6], ['2001:db8::1', 6], ['fe80::1%1', 6], ['fc00::1', 6], ['fec0::1', 6], ['100::1', 6], ['::7f00:1', 6], ['4000::1', 6],
  ];
  for (const [address, family] of special) expect([address, notPublic(address, family)]).toEqual([address, expect.any(String)]);
  // the service's own addresses, even public ones
  const own = new BlockList();
  own.addAddress('8.8.4.4', 'ipv4');
  expect(notPublic('8.8.4.4', 4, own)).toMatch(/this service's own machine/);
  expect(notPublic('::ffff:8.8.4.4', 6, own)).toMatch(/this service's own machine/);
  expect(notPublic('8.8.8.8', 4, own)).toBeNull();
});

test('http only when the operator allows it; the loopback receiver only with the allow-list; credentials never', async () => {
  const receiverUrl = `http://127.0.0.1:${port}/hook`;
  // allow-listed but http not allowed; http allowed but not allow-listed
  expect((await register(appWith({ webhookAllow: ['127.0.0.1/32'] }), receiverUrl).expect(422)).body.error.details[0].message).toMatch(/https/);
  expect((await register(appWith({ webhookAllowHttp: true }), receiverUrl).expect(422)).body.error.details[0].message).toMatch(/loopback/);
  expect((await register(appWith({ webhookAllowHttp: true }), `http://localhost:${port}/hook`).expect(422)).body.error.details[0].message).toMatch(/loopback/);
  // both: accepted; by host name as well; credentials still refused
  const ok = (await register(appWith(LOOPBACK_ALLOWED), receiverUrl).expect(201)).body as { id: number; url: string };
  expect(ok.url).toBe(receiverUrl);
  await register(appWith({ webhookAllowHttp: true, webhookAllow: ['localhost'] }), `http://localhost:${port}/hook`).expect(201);
  expect((await register(appWith(LOOPBACK_ALLOWED), `http://u:p@127.0.0.1:${port}/hook`).expect(422)).body.error.details[0].message).toMatch(/credentials/);
  // a neighbour inside the allow-list's CIDR is allowed, one outside is not
  expect((await register(appWith({ webhookAllow: ['10.1.0.0/16'] }), 'https://10.2.0.1/').expect(422)).body.error.details[0].message).toMatch(/private/);
  await register(appWith({ webhookAllow: ['10.1.0.0/16'] }), 'https://10.1.2.3/').expect(201);
  await ctx.db.knex('webhooks').whereNot({ id: ok.id }).del(); // 10.1.2.3 and localhost: never to be delivered to

  // delivery: the same webhook, the same receiver — not sent to without the allow-list, sent with it
  const [row] = (await ctx.db.knex('webhook_deliveries').insert({ webhook_id: ok.id, first_event_id: 1, last_event_id: 1, payload: JSON.stringify({ type: 'level_changes', events: [] }) }).returning('id')) as { id: string }[];
  let log = await deliverOnce(ok.id, { webhookAllowHttp: true });
  expect(hits).toHaveLength(0);
  expect(log[0]).toMatchObject({ id: Number(row?.id), status: 'pending', attempts: 1, last_status: null, last_error: 'target not allowed' });
  await ctx.db.knex('webhook_deliveries').update({ next_attempt_at: ctx.db.knex.fn.now() });
  log = await deliverOnce(ok.id, LOOPBACK_ALLOWED);
  expect(hits).toHaveLength(1);
  expect(log[0]).toMatchObject({ status: 'delivered', attempts: 2, last_status: 200, last_error: null });
});

test('a bad allow-list stops start-up naming the variable', () => {
  expect(() => loadConfig({ ZONERISK_WEBHOOK_ALLOW: '10.0.0.0/99' })).toThrow(ConfigError);
  expect(() => loadConfig({ ZONERISK_WEBHOOK_ALLOW: 'hooks.internal.example,not a host' })).toThrow(/ZONERISK_WEBHOOK_ALLOW/);
  expect(() => loadConfig({ ZONERISK_WEBHOOK_ALLOW_HTTP: 'maybe' })).toThrow(/ZONERISK_WEBHOOK_ALLOW_HTTP/);
  const c = loadConfig({ ZONERISK_WEBHOOK_ALLOW: '127.0.0.1/32, hooks.internal.example,fd00::/8', ZONERISK_WEBHOOK_ALLOW_HTTP: 'true' });
  expect(c).toMatchObject({ webhookAllowHttp: true, webhookAllow: ['127.0.0.1/32', 'hooks.internal.example', 'fd00::/8'] });
  expect(loadConfig({})).toMatchObject({ webhookAllowHttp: false, webhookAllow: [] });
});

test('DNS rebinding: a name public at registration and loopback at delivery is not delivered to; the connection goes to the checked address only', async () => {
  const PUBLIC: ResolvedAddress = { address: '93.184.215.14', family: 4 };
  const LOOP: ResolvedAddress = { address: '127.0.0.1', family: 4 };
  const resolve = resolverOf({
    'rebind.invalid': [[PUBLIC], [LOOP]], // first answer public, every later one loopback
    'mixed.invalid': [[PUBLIC, LOOP]],
    'pinned.invalid': [[LOOP]],
  });
  const httpAllowed = targetPolicy({ allowHttp: true, allow: [] });

  // registration's check passes on the public answer; the webhook is stored as checked
  const checked = await checkTarget(`http://rebind.invalid:${port}/hook`, httpAllowed, resolve);
  expect(checked.addresses).toEqual([PUBLIC]);
  const rebind = await hookWithDelivery(checked.url.href);
  const log = await deliverOnce(rebind.hook, { webhookAllowHttp: true }, resolve);
  expect(hits).toHaveLength(0);
  expect(log[0]).toMatchObject({ status: 'pending', last_status: null, last_error: 'target not allowed' });
  expect(resolve.calls.filter((c) => c === 'rebind.invalid')).toHaveLength(2); // once at registration, once at delivery

  // every address is checked, not just the first
  await expect(checkTarget(`https://mixed.invalid/`, httpAllowed, resolve)).rejects.toThrow(/loopback/);

  // with loopback allowed, the request goes to the address the check saw, named by the URL's
  // host (a second, system resolution of a .invalid name would fail: the log would say unreachable)
  const pinned = await hookWithDelivery(`http://pinned.invalid:${port}/hook`);
  const pinnedLog = await deliverOnce(pinned.hook, LOOPBACK_ALLOWED, resolve);
  expect(pinnedLog[0]).toMatchObject({ status: 'delivered', last_status: 200, last_error: null });
  expect(hits).toHaveLength(1);
  expect(hits[0]?.headers.host).toBe(`pinned.invalid:${port}`);
});

test('the delivery log says delivered or failed (status) and no more: no answer bodies, no error text, redirects not followed', async () => {
  // a closed port: "unreachable", nothing about the port
  const closed = http.createServer();
  closed.listen(0, '127.0.0.1');
  await new Promise((r) => closed.once('listening', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const a = await hookWithDelivery(`http://127.0.0.1:${closedPort}/`);
  const logA = await deliverOnce(a.hook, LOOPBACK_ALLOWED);
  expect(logA[0]).toMatchObject({ status: 'pending', last_status: null, last_error: 'unreachable' });
  expect(JSON.stringify(logA)).not.toMatch(/ECONN|refused|connect/i);

  // an answer with a body: the status only
  answer = { status: 500, body: 'internal stack trace: pg password=hunter2' };
  const b = await hookWithDelivery(`http://127.0.0.1:${port}/fail`);
  const logB = await deliverOnce(b.hook, LOOPBACK_ALLOWED);
  expect(logB[0]).toMatchObject({ status: 'pending', last_status: 500, last_error: 'receiver answered 500' });
  expect(JSON.stringify(logB)).not.toContain('hunter2');

  // a redirect is an answer, not an instruction: one request, to the registered path
  answer = { status: 302, headers: { location: `http://127.0.0.1:${port}/elsewhere` } };
  const c = await hookWithDelivery(`http://127.0.0.1:${port}/moved`);
  const logC = await deliverOnce(c.hook, LOOPBACK_ALLOWED);
  expect(logC[0]).toMatchObject({ last_status: 302, last_error: 'receiver answered 302' });
  expect(hits.map((h) => h.url)).toEqual(['/fail', '/moved']);

  // rows written before the log was made coarse, and URLs registered with credentials before they were refused
  await ctx.db.knex('webhook_deliveries').where({ webhook_id: a.hook }).update({ last_error: 'connect ECONNREFUSED 127.0.0.1:5432' });
  await ctx.db.knex('webhooks').where({ id: a.hook }).update({ url: 'https://admin:s3cret@hooks.example.com/x' });
  const logOld = (await request(strict).get(`/v1/webhooks/${a.hook}/deliveries`).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).expect(200)).body.items;
  expect(logOld[0]).toMatchObject({ last_error: 'unreachable' });
  const list = (await request(strict).get('/v1/webhooks').set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).expect(200)).body.items as { id: number; url: string }[];
  expect(list.find((h) => h.id === a.hook)?.url).toBe('https://hooks.example.com/x');
  expect(JSON.stringify(list)).not.toContain('s3cret');
});
