import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';
import { Database } from '../db/database';
import { DELIVERY_ERRORS } from '../db/events';
import { DueDelivery, leaseDueDeliveries, pendingDeliveries, queueDeliveries, recordAttemptFailed, recordDelivered } from '../db/webhooks';
import { log } from '../log';
import { webhookBacklog } from '../metrics';
import { CheckedTarget, checkTarget, pinnedLookup, Resolve, systemResolve, TargetPolicy, targetPolicy, TargetRefused } from '../net/targets';
import { startLoop } from './loop';

/**
 * Webhook deliveries, decoupled from recomputation: level events are batched into
 * deliveries queued in PostgreSQL, and this worker sends them — signed, retried with
 * exponential backoff, each attempt recorded. A slow or failing receiver only delays its
 * own deliveries. Replicas share the queue (db/webhooks.ts): a delivery is leased before it
 * is sent.
 *
 * Signature: the Standard Webhooks scheme (https://www.standardwebhooks.com), signed with its
 * library (`standardwebhooks`): `webhook-id` (the delivery's id, the same on every retry),
 * `webhook-timestamp` (Unix seconds) and `webhook-signature`
 * (`v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`), the key as signingKey() says.
 * A receiver verifies with `new Webhook(...).verify(body, headers)` — docs/API.md (Verifying
 * a webhook). Deprecated, sent for one more release: `X-Zonerisk-Signature:
 * sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with `X-Zonerisk-Timestamp`.
 *
 * Every attempt checks its target again (net/targets.ts: scheme, no credentials, every
 * address public or allow-listed), resolving the host once and connecting only to the
 * addresses it checked — a name that resolved to a public address at registration and to
 * 127.0.0.1 now is not sent to (DNS rebinding). Redirects are not followed. The log records
 * no more than delivered / failed: the receiver's status, or a coarse reason
 * (`unreachable` for every network error and timeout, so that it tells no closed port from
 * a filtered one; `target not allowed`); the details go to the service's own log.
 */
const MAX_ATTEMPTS = 12;
const LEASE_SECONDS = 60;
/** Deliveries leased per pass. */
const BATCH = 20;
const TIMEOUT_MS = 10_000;
/** A receiver's answer is not read beyond this (it is never stored). */
const MAX_ANSWER_BYTES = 64 * 1024;

/** How deliveries reach their targets: the operator's policy, and the resolver (a seam for tests). */
export type DeliveryOptions = { policy: TargetPolicy; resolve?: Resolve };

/** A Standard Webhooks secret: `whsec_` and the key in base64. */
const STANDARD_SECRET = /^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;

/**
 * The HMAC key of a receiver's secret: a Standard Webhooks secret (`whsec_<base64>`) stands
 * for the bytes it encodes — the receiver verifies with `new Webhook(secret)`; any other
 * secret (those registered before, too) for its UTF-8 bytes — the receiver verifies with
 * `new Webhook(Buffer.from(secret), { format: 'raw' })`.
 */
export function signingKey(secret: string): Uint8Array {
  return STANDARD_SECRET.test(secret) ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** The Standard Webhooks headers of a delivery `id` sent at `timestamp` (Unix seconds). */
export function standardHeaders(secret: string, id: string, timestamp: number, body: string): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const signature = new Webhook(signingKey(secret), { format: 'raw' }).sign(id, new Date(timestamp * 1000), body);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

/** The deprecated X-Zonerisk-Signature (kept for one release beside the Standard Webhooks headers). */
export function sign(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Leases due deliveries, sends them, records the outcome. */
async function sendDue(db: Database, opts: DeliveryOptions): Promise<void> {
  const due = await leaseDueDeliveries(db, BATCH, LEASE_SECONDS);
  await Promise.all(due.map((d) => attempt(db, d, opts)));
}

/** POSTs to the checked addresses only; resolves with the receiver's status, rejects on any network error. */
function post(target: CheckedTarget, headers: Record<string, string>, body: string): Promise<number> {
  const request = target.url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      target.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: false,
        lookup: pinnedLookup(target.addresses),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) res.destroy();
        });
        const done = () => resolve(status);
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The outcome of one attempt as the log may show it. */
type Outcome = { status: number | null; error: string | null; detail?: string };

async function send(d: DueDelivery, opts: DeliveryOptions): Promise<Outcome> {
  let target: CheckedTarget;
  try {
    target = await checkTarget(d.url, opts.policy, opts.resolve ?? systemResolve);
  } catch (e) {
    return { status: null, error: DELIVERY_ERRORS.notAllowed, detail: e instanceof TargetRefused ? e.reason : String(e) };
  }
  const body = JSON.stringify({ delivery: Number(d.id), ...(d.payload as object) });
  const ts = Math.floor(Date.now() / 1000);
  try {
    const headers = {
      'content-type': 'application/json',
      ...standardHeaders(d.secret, String(d.id), ts, body),
      // deprecated: kept for one release (docs/API.md)
      'x-zonerisk-delivery': String(d.id),
      'x-zonerisk-timestamp': String(ts),
      'x-zonerisk-signature': sign(d.secret, ts, body),
    };
    const status = await post(target, headers, body);
    return status >= 200 && status < 300 ? { status, error: null } : { status, error: DELIVERY_ERRORS.answered(status) };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { status: null, error: DELIVERY_ERRORS.unreachable, detail: err.code ?? err.message ?? String(e) };
  }
}

async function attempt(db: Database, d: DueDelivery, opts: DeliveryOptions): Promise<void> {
  const { status, error, detail } = await send(d, opts);
  const attempts = d.attempts + 1;
  if (!error) {
    await recordDelivered(db, d.id, attempts, status);
    return;
  }
  const backoff = Math.min(3600, 2 ** (attempts - 1)); // 1 s, 2 s, 4 s … at most an hour
  await recordAttemptFailed(db, d.id, { attempts, status, error, final: attempts >= MAX_ATTEMPTS, retryAfterSeconds: backoff });
  // the details (refused port, timeout, TLS, the refused address) for the operator only
  log.warn('webhook delivery failed', { delivery: d.id, attempts, error, detail });
}

export type WebhookWorker = { stop(): Promise<void>; pass(): Promise<void> };

/**
 * The worker of a service. Without a policy: https only, public addresses only (the service
 * passes the one from its configuration: `webhookPolicy(config)`).
 */
export function startWebhookWorker(db: Database, opts: { everyMs?: number; policy?: TargetPolicy; resolve?: Resolve } = {}): WebhookWorker {
  const delivery: DeliveryOptions = { policy: opts.policy ?? targetPolicy({ allowHttp: false, allow: [] }), ...(opts.resolve ? { resolve: opts.resolve } : {}) };
  const loop = startLoop(
    async () => {
      await queueDeliveries(db);
      await sendDue(db, delivery);
      webhookBacklog.set(await pendingDeliveries(db));
    },
    { everyMs: opts.everyMs ?? 1000, onError: (e) => log.warn('webhook worker pass failed', { error: String(e) }) },
  );
  return { pass: loop.run, stop: loop.stop };
}
