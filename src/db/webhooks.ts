import type { Database } from './database';
import { eventsAfter } from './events';

/**
 * The webhook delivery queue: `webhook_deliveries`, one row per batch of level events sent
 * to one receiver (`webhooks`), in PostgreSQL so that replicas share it. A delivery is
 * leased (its next attempt pushed past the lease) before it is sent, so that no two
 * replicas send it at once; each attempt's outcome is recorded on its row. The sending
 * itself is src/jobs/webhooks.ts.
 */

/** A delivery leased for sending, with its receiver. */
export type DueDelivery = { id: number; url: string; secret: string; payload: unknown; attempts: number };

/** Level events per delivery, at most. */
const EVENTS_PER_DELIVERY = 500;

/** New events of every active webhook become deliveries (one per webhook per call). */
export async function queueDeliveries(db: Database): Promise<void> {
  await db.write(async (trx) => {
    const hooks = (await trx('webhooks').whereNull('disabled_at').forUpdate().skipLocked().select('id', 'last_event_id')) as { id: number; last_event_id: string | number }[];
    for (const h of hooks) {
      const events = await eventsAfter(trx, Number(h.last_event_id), EVENTS_PER_DELIVERY);
      if (events.length === 0) continue;
      const first = events[0]?.id as number;
      const last = events[events.length - 1]?.id as number;
      await trx('webhook_deliveries').insert({ webhook_id: h.id, first_event_id: first, last_event_id: last, payload: JSON.stringify({ type: 'level_changes', events }) });
      await trx('webhooks').where({ id: h.id }).update({ last_event_id: last });
    }
  });
}

/** Leases up to `limit` due deliveries, oldest first, for `leaseSeconds` (rows other replicas hold are skipped). */
export async function leaseDueDeliveries(db: Database, limit: number, leaseSeconds: number): Promise<DueDelivery[]> {
  return db.write(async (trx) => {
    const rows = (await trx('webhook_deliveries as d')
      .join('webhooks as w', 'w.id', 'd.webhook_id')
      .where('d.status', 'pending')
      .where('d.next_attempt_at', '<=', trx.fn.now())
      .orderBy('d.id')
      .limit(limit)
      .forUpdate('d')
      .skipLocked()
      .select('d.id', 'w.url', 'w.secret', 'd.payload', 'd.attempts')) as DueDelivery[];
    if (rows.length) await trx('webhook_deliveries').whereIn('id', rows.map((r) => r.id)).update({ next_attempt_at: trx.raw(`now() + interval '${Math.trunc(leaseSeconds)} seconds'`) });
    return rows;
  });
}

/** A delivered attempt (`attempts`: the count with it; `status`: the receiver's). */
export async function recordDelivered(db: Database, id: number, attempts: number, status: number | null): Promise<void> {
  await db.write((trx) => trx('webhook_deliveries').where({ id }).update({ status: 'delivered', attempts, last_status: status, last_error: null, delivered_at: trx.fn.now() }));
}

/**
 * A failed attempt: tried again after `retryAfterSeconds`, or failed for good when `final`.
 * `error` is what the log of deliveries may show.
 */
export async function recordAttemptFailed(db: Database, id: number, a: { attempts: number; status: number | null; error: string; final: boolean; retryAfterSeconds: number }): Promise<void> {
  await db.write((trx) =>
    trx('webhook_deliveries')
      .where({ id })
      .update({ attempts: a.attempts, last_status: a.status, last_error: a.error, status: a.final ? 'failed' : 'pending', next_attempt_at: trx.raw(`now() + interval '${Math.trunc(a.retryAfterSeconds)} seconds'`) }),
  );
}

/** Deliveries waiting to be sent (for /metrics). */
export async function pendingDeliveries(db: Database): Promise<number> {
  const row = (await db.knex('webhook_deliveries').where({ status: 'pending' }).count<{ c: string }[]>('* as c'))[0];
  return Number(row?.c ?? 0);
}
