import { createHmac } from 'node:crypto';
import http, { IncomingHttpHeaders, Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { addDays, today } from '../../src/domain/dates';
import { startWebhookWorker, WebhookWorker } from '../../src/jobs/webhooks';
import { webhookPolicy } from '../../src/net/targets';
import { testContext } from '../helpers/context';

/**
 * Level changes: the SSE stream (resumable) and webhooks (signed, retried, never in recompute's
 * way). The receiver here is on loopback over http: allowed by the operator's settings only
 * (webhooks-ssrf.test.ts shows it refused without them).
 */
const ctx = testContext({ webhookAllowHttp: true, webhookAllow: ['127.0.0.1/32'] });
const TODAY = today(ctx.config.reportingTimeZone);
const SECRET = 'whsec-test-0123456789abcdef';
let app: Server;
let base: string;
let receiver: Server;
let worker: WebhookWorker;
const received: { headers: IncomingHttpHeaders; body: string; answered: number }[] = [];

beforeAll(async () => {
  await ctx.demo(TODAY);
  app = ctx.app.listen(0, '127.0.0.1');
  await new Promise((r) => app.once('listening', r));
  base = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
  // a receiver that fails its first delivery, then accepts
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const answered = received.length === 0 ? 500 : 200;
      received.push({ headers: req.headers, body, answered });
      res.writeHead(answered).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await new Promise((r) => receiver.once('listening', r));
  worker = startWebhookWorker(ctx.db, { everyMs: 100, policy: webhookPolicy(ctx.config) });
});
afterAll(async () => {
  await worker.stop();
  await new Promise((r) => receiver.close(r));
  await new Promise((r) => app.close(r));
  await ctx.close();
});

type Event = { id: number; area: string; date: string; from: string | null; to: string; reason: string | null; reason_text?: { vi: string; en: string } };

/** Reads SSE events from a stream until `count` arrived. */
async function readEvents(url: string, headers: Record<string, string>, count: number): Promise<Event[]> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events: Event[] = [];
  const deadline = Date.now() + 20_000;
  while (events.length < count && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const id = /^id: (\d+)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id && data && /^event: level$/m.test(block)) events.push({ ...(JSON.parse(data) as Event), id: Number(id) });
    }
  }
  controller.abort();
  return events.slice(0, count);
}

test('a recompute of recent days: events on the stream, a signed webhook delivery retried after a 500, and the recompute never waits', async () => {
  const hook = (await ctx.http().post('/v1/webhooks').send({ url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`, secret: SECRET }).expect(201)).body;
  expect(hook.secret).toBeUndefined();

  const started = Date.now();
  await ctx.http().post('/v1/recompute').send({ from: addDays(TODAY, -2), to: TODAY }).expect(200);
  const recomputeMs = Date.now() - started;
  expect(recomputeMs).toBeLessThan(5000); // the failing receiver is not in its way

  const stored = (await ctx.db.knex('level_events').orderBy('id')) as { id: string }[];
  expect(stored.length).toBeGreaterThan(0);
  // an event says why the level changed where recomputation recorded it — in words, built
  // when read, in both languages — else it carries the level's reason code
  const recorded = new Map(
    (await ctx.db.knex.raw<{ rows: { id: string; reason: string | null; change: unknown }[] }>('SELECT id, reason, change FROM level_events ORDER BY id')).rows.map((r) => [Number(r.id), r]),
  );
  expect([...recorded.values()].some((r) => r.change !== null)).toBe(true);

  // the stream from the start, then resumed after the second event
  const all = await readEvents(`${base}/v1/changes/stream?since_id=0`, {}, Math.min(stored.length, 20));
  expect(all.length).toBe(Math.min(stored.length, 20));
  expect(all.map((e) => e.id)).toEqual(stored.slice(0, all.length).map((r) => Number(r.id)));
  expect(all[0]).toMatchObject({ area: expect.any(String), date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), to: expect.stringMatching(/green|yellow|orange|red|unknown/) });
  const firstChanged = [...recorded.entries()].find(([, r]) => r.change !== null)?.[0] as number;
  const changed = await readEvents(`${base}/v1/changes/stream?since_id=${firstChanged - 1}`, {}, 1);
  expect(changed[0]?.id).toBe(firstChanged);
  for (const e of [...all, ...changed]) {
    const row = recorded.get(e.id);
    if (row?.change) {
      expect(e.reason_text?.vi).toEqual(expect.any(String));
      expect(e.reason).toBe(e.reason_text?.en);
      expect(e.reason).not.toBe(row.reason);
    } else {
      expect(e.reason).toBe(row?.reason ?? null);
      expect(e.reason_text).toBeUndefined();
    }
  }
  const resumed = await readEvents(`${base}/v1/changes/stream`, { 'Last-Event-ID': String(all[1]?.id) }, 1);
  expect(resumed[0]?.id).toBe(all[2]?.id);

  // the webhook: every event arrives in a 200-answered delivery; the first delivery was
  // answered 500 and retried with the same events; every request is signed
  const deliveredIds = () => received.filter((r) => r.answered === 200).flatMap((r) => (JSON.parse(r.body) as { events: Event[] }).events.map((e) => e.id));
  for (let i = 0; i < 150 && deliveredIds().length < stored.length; i++) await new Promise((r) => setTimeout(r, 100));
  expect([...new Set(deliveredIds())].sort((x, y) => x - y)).toEqual(stored.map((r) => Number(r.id)));
  const first = received[0] as (typeof received)[number];
  expect(first.answered).toBe(500);
  const retry = received.find((r, i) => i > 0 && r.headers['x-zonerisk-delivery'] === first.headers['x-zonerisk-delivery']);
  expect(retry?.answered).toBe(200);
  expect((JSON.parse(retry?.body as string) as { type: string; events: Event[] }).events).toEqual((JSON.parse(first.body) as { events: Event[] }).events);
  expect((JSON.parse(first.body) as { type: string }).type).toBe('level_changes');
  // Standard Webhooks: the same webhook-id on a retry; verified by the standardwebhooks library (a
  // secret that is not whsec_… is the key's UTF-8 bytes); the deprecated header still sent
  expect(retry?.headers['webhook-id']).toBe(first.headers['webhook-id']);
  const verifier = new Webhook(Buffer.from(SECRET), { format: 'raw' });
  for (const r of received) {
    expect(verifier.verify(r.body, r.headers as Record<string, string>)).toEqual(JSON.parse(r.body));
    const ts = r.headers['x-zonerisk-timestamp'] as string;
    expect(r.headers['webhook-timestamp']).toBe(ts);
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${r.body}`).digest('hex')}`;
    expect(r.headers['x-zonerisk-signature']).toBe(expected);
  }
  // the worker records a delivery after the receiver answered: wait (bounded) until it has
  type Delivery = { id: number; status: string; attempts: number };
  const deliveries = async () => (await ctx.http().get(`/v1/webhooks/${hook.id}/deliveries`).expect(200)).body.items as Delivery[];
  let log = await deliveries();
  for (let i = 0; i < 100 && !log.every((d) => d.status === 'delivered'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    log = await deliveries();
  }
  expect(log.find((d) => String(d.id) === first.headers['x-zonerisk-delivery'])).toMatchObject({ status: 'delivered', attempts: 2, last_status: 200 });
  expect(log.every((d) => d.status === 'delivered')).toBe(true);
});

test('history is not news: a backfill of old days raises no events', async () => {
  const before = Number((await ctx.db.knex('level_events').count<{ c: number }[]>('* as c'))[0]?.c);
  await ctx.http().post('/v1/recompute').send({ from: addDays(TODAY, -40), to: addDays(TODAY, -30) }).expect(200);
  expect(Number((await ctx.db.knex('level_events').count<{ c: number }[]>('* as c'))[0]?.c)).toBe(before);
});

test('bad input: a webhook without a proper URL or secret, a bad Last-Event-ID', async () => {
  const bad = await ctx.http().post('/v1/webhooks').send({ url: 'ftp://x', secret: 'short' }).expect(422);
  expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['secret', 'url']);
  const res = await fetch(`${base}/v1/changes/stream`, { headers: { 'Last-Event-ID': 'abc' } });
  expect(res.status).toBe(400);
});
