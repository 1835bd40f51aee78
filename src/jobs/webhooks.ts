import { createHmac } from 'node:crypto';
import { Database } from '../db/database';
import { eventsAfter } from '../db/events';
import { log } from '../log';
import { webhookBacklog } from '../metrics';

/**
 * Webhook deliveries, decoupled from recomputation: level events are batched into
 * deliveries queued in PostgreSQL, and this worker sends them — signed, retried with
 * exponential backoff, each attempt recorded. A slow or failing receiver only delays its
 * own deliveries. Replicas share the queue: a delivery is leased before it is sent.
 *
 * Signature: `X-Zonerisk-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
 * with `X-Zonerisk-Timestamp` (Unix seconds) — see the README for a verification snippet.
 */
const MAX_ATTEMPTS = 12;
const LEASE_SECONDS = 60;

export function sign(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** New events of every active webhook become deliveries (one per webhook per pass). */
async function enqueue(db: Database): Promise<void> {
  await db.knex.transaction(async (trx) => {
    const hooks = (await trx('webhooks').whereNull('disabled_at').forUpdate().skipLocked().select('id', 'last_event_id')) as { id: number; last_event_id: string | number }[];
    for (const h of hooks) {
      const events = await eventsAfter(trx, Number(h.last_event_id), 500);
      if (events.length === 0) continue;
      const first = events[0]?.id as number;
      const last = events[events.length - 1]?.id as number;
      await trx('webhook_deliveries').insert({ webhook_id: h.id, first_event_id: first, last_event_id: last, payload: JSON.stringify({ type: 'level_changes', events }) });
      await trx('webhooks').where({ id: h.id }).update({ last_event_id: last });
    }
  });
}

type Due = { id: number; url: string; secret: string; payload: unknown; attempts: number };

/** Leases due deliveries, sends them, records the outcome. */
async function sendDue(db: Database): Promise<void> {
  const due = (await db.knex.transaction(async (trx) => {
    const rows = (await trx('webhook_deliveries as d')
      .join('webhooks as w', 'w.id', 'd.webhook_id')
      .where('d.status', 'pending')
      .where('d.next_attempt_at', '<=', trx.fn.now())
      .orderBy('d.id')
      .limit(20)
      .forUpdate('d')
      .skipLocked()
      .select('d.id', 'w.url', 'w.secret', 'd.payload', 'd.attempts')) as Due[];
    if (rows.length) await trx('webhook_deliveries').whereIn('id', rows.map((r) => r.id)).update({ next_attempt_at: trx.raw(`now() + interval '${LEASE_SECONDS} seconds'`) });
    return rows;
  })) as Due[];
  await Promise.all(due.map((d) => attempt(db, d)));
}

async function attempt(db: Database, d: Due): Promise<void> {
  const body = JSON.stringify({ delivery: Number(d.id), ...(d.payload as object) });
  const ts = Math.floor(Date.now() / 1000);
  let status: number | null = null;
  let error: string | null = null;
  try {
    const res = await fetch(d.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-zonerisk-delivery': String(d.id), 'x-zonerisk-timestamp': String(ts), 'x-zonerisk-signature': sign(d.secret, ts, body) },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    status = res.status;
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) error = `receiver answered ${res.status}`;
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const attempts = d.attempts + 1;
  if (!error) {
    await db.knex('webhook_deliveries').where({ id: d.id }).update({ status: 'delivered', attempts, last_status: status, last_error: null, delivered_at: db.knex.fn.now() });
    return;
  }
  const backoff = Math.min(3600, 2 ** (attempts - 1)); // 1 s, 2 s, 4 s … at most an hour
  await db.knex('webhook_deliveries')
    .where({ id: d.id })
    .update({ attempts, last_status: status, last_error: error.slice(0, 500), status: attempts >= MAX_ATTEMPTS ? 'failed' : 'pending', next_attempt_at: db.knex.raw(`now() + interval '${backoff} seconds'`) });
  log.warn('webhook delivery failed', { delivery: d.id, attempts, error });
}

export type WebhookWorker = { stop(): Promise<void>; pass(): Promise<void> };

export function startWebhookWorker(db: Database, opts: { everyMs?: number } = {}): WebhookWorker {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const pass = () => {
    running = running
      .then(async () => {
        if (stopped) return;
        await enqueue(db);
        await sendDue(db);
        const backlog = (await db.knex('webhook_deliveries').where({ status: 'pending' }).count<{ c: string }[]>('* as c'))[0];
        webhookBacklog.set(Number(backlog?.c ?? 0));
      })
      .catch((e: unknown) => log.warn('webhook worker pass failed', { error: String(e) }));
    return running;
  };
  const timer = setInterval(() => void pass(), opts.everyMs ?? 1000);
  timer.unref();
  return {
    pass,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
