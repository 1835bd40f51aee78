import { randomBytes } from 'node:crypto';
import http, { IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { addDays, today } from '../../src/domain/dates';
import { signingKey, startWebhookWorker, WebhookWorker } from '../../src/jobs/webhooks';
import { webhookPolicy } from '../../src/net/targets';
import { testContext } from '../helpers/context';

/**
 * Webhook deliveries on the Standard Webhooks scheme (https://www.standardwebhooks.com): a
 * receiver verifies them with the `standardwebhooks` library, as docs/API.md shows, from a
 * `whsec_` secret registered through the API; a tampered body, a foreign secret or an old
 * timestamp fail. The receiver is on loopback over http, allowed by the operator's settings.
 */
const ctx = testContext({ webhookAllowHttp: true, webhookAllow: ['127.0.0.1/32'] });
const TODAY = today(ctx.config.reportingTimeZone);
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
let receiver: Server;
let worker: WebhookWorker;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  await ctx.demo(TODAY);
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await new Promise((r) => receiver.once('listening', r));
  worker = startWebhookWorker(ctx.db, { everyMs: 100, policy: webhookPolicy(ctx.config) });
});
afterAll(async () => {
  await worker.stop();
  await new Promise((r) => receiver.close(r));
  await ctx.close();
});

test('a delivery verifies with standardwebhooks; a tampered body, another secret and an old timestamp do not', async () => {
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  await ctx.http().post('/v1/webhooks').send({ url, secret: SECRET }).expect(201);
  await ctx.http().post('/v1/recompute').send({ from: addDays(TODAY, -1), to: TODAY }).expect(200);
  for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect(received.length).toBeGreaterThan(0);
  const { headers, body } = received[0] as (typeof received)[number];

  // the receiver's three lines (docs/API.md)
  const wh = new Webhook(SECRET);
  const payload = wh.verify(body, headers as Record<string, string>) as { type: string; delivery: number; events: unknown[] };

  expect(payload).toMatchObject({ type: 'level_changes', delivery: Number(headers['webhook-id']) });
  expect(payload.events.length).toBeGreaterThan(0);
  expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  expect(Number(headers['webhook-timestamp'])).toBeGreaterThan(Date.now() / 1000 - 60);
  // the deprecated headers are still sent, for one release
  expect(headers['x-zonerisk-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);

  const tampered = body.replace('"level_changes"', '"level_change5"');
  expect(tampered).not.toBe(body);
  expect(() => wh.verify(tampered, headers as Record<string, string>)).toThrow(WebhookVerificationError);
  expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(body, headers as Record<string, string>)).toThrow(WebhookVerificationError);
  const replayed = { ...(headers as Record<string, string>), 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3600) };
  expect(() => wh.verify(body, replayed)).toThrow(WebhookVerificationError);
});

test('the signing key: a whsec_ secret stands for its base64 bytes, any other secret for its UTF-8 bytes', () => {
  const bytes = randomBytes(24);
  expect(Buffer.from(signingKey(`whsec_${bytes.toString('base64')}`))).toEqual(bytes);
  expect(Buffer.from(signingKey('legacy secret — đủ dài 16+'))).toEqual(Buffer.from('legacy secret — đủ dài 16+', 'utf8'));
  expect(Buffer.from(signingKey('whsec_not base64!!'))).toEqual(Buffer.from('whsec_not base64!!', 'utf8'));
});

test('a whsec_ secret shorter than 24 bytes, or not base64, is refused naming secret (a short key signs like its zero-padded self)', async () => {
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/short`;
  for (const secret of ['whsec_AAAAAAAAAA==', `whsec_${randomBytes(23).toString('base64')}`, 'whsec_not base64 at all!!']) {
    const res = await ctx.http().post('/v1/webhooks').send({ url, secret }).expect(422);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(['secret']);
  }
  await ctx.http().post('/v1/webhooks').send({ url, secret: `whsec_${randomBytes(24).toString('base64')}` }).expect(201);
});
