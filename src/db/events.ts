import { Knex } from 'knex';
import { notFound } from '../errors';
import { Actor, audit } from './audit';

/** A level change: what was said of an area for a day, and what is said now. */
export type LevelEvent = { id: number; at: string; area: string; name: string; date: string; from: string | null; to: string; reason: string | null };

export async function eventsAfter(knex: Knex, afterId: number, limit = 500): Promise<LevelEvent[]> {
  const rows = (await knex('level_events as e')
    .join('areas as a', 'a.id', 'e.area_id')
    .where('e.id', '>', afterId)
    .orderBy('e.id')
    .limit(limit)
    .select('e.id', 'e.at', 'a.code as area', 'a.name', knex.raw('e.date::text AS date'), 'e.from_level as from', 'e.to_level as to', 'e.reason')) as (Omit<LevelEvent, 'at' | 'id'> & { id: string | number; at: Date })[];
  return rows.map((r) => ({ ...r, id: Number(r.id), at: r.at.toISOString() }));
}

export async function lastEventId(knex: Knex): Promise<number> {
  const row = (await knex('level_events').max<{ max: string | null }[]>('id as max'))[0];
  return Number(row?.max ?? 0);
}

export type WebhookInfo = { id: number; url: string; created_at: string; disabled_at: string | null; last_event_id: number };

/** A URL as it may be shown back: without credentials (refused since, but older rows may hold them). */
export function withoutCredentials(text: string): string {
  try {
    const url = new URL(text);
    if (url.username === '' && url.password === '') return text;
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return text.replace(/\/\/[^/@]*@/, '//');
  }
}

const toInfo = (r: { id: number; url: string; created_at: Date; disabled_at: Date | null; last_event_id: string | number }): WebhookInfo => ({
  id: r.id,
  url: withoutCredentials(r.url),
  created_at: r.created_at.toISOString(),
  disabled_at: r.disabled_at?.toISOString() ?? null,
  last_event_id: Number(r.last_event_id),
});

/** A receiver gets the events from now on (not the history). */
export async function createWebhook(knex: Knex, input: { url: string; secret: string }, actor: Actor): Promise<WebhookInfo> {
  return knex.transaction(async (trx) => {
    const from = await lastEventId(trx);
    const [row] = await trx('webhooks').insert({ url: input.url, secret: input.secret, last_event_id: from }).returning('*');
    const info = toInfo(row);
    await audit(trx, actor, { action: 'webhook.create', target: `webhook:${info.id}`, after: { url: info.url, from_event: from } });
    return info;
  });
}

export async function listWebhooks(knex: Knex): Promise<WebhookInfo[]> {
  return ((await knex('webhooks').orderBy('id')) as Parameters<typeof toInfo>[0][]).map(toInfo);
}

export async function disableWebhook(knex: Knex, id: number, actor: Actor): Promise<WebhookInfo> {
  return knex.transaction(async (trx) => {
    const [row] = await trx('webhooks').where({ id }).whereNull('disabled_at').update({ disabled_at: trx.fn.now() }).returning('*');
    if (!row) throw notFound(`no active webhook ${id}`);
    await audit(trx, actor, { action: 'webhook.disable', target: `webhook:${id}`, before: { disabled_at: null }, after: { disabled_at: (row as { disabled_at: Date }).disabled_at.toISOString() } });
    return toInfo(row);
  });
}

export type DeliveryInfo = { id: number; webhook_id: number; first_event_id: number; last_event_id: number; status: string; attempts: number; last_status: number | null; last_error: string | null; delivered_at: string | null };

/**
 * All a delivery's `last_error` may say: the receiver's non-2xx status, `unreachable` (any
 * network error or timeout — a closed port and a filtered one read the same), or `target not
 * allowed` (refused by the target rules at delivery time). No answer bodies, no error text.
 */
export const DELIVERY_ERRORS = {
  answered: (status: number) => `receiver answered ${status}`,
  unreachable: 'unreachable',
  notAllowed: 'target not allowed',
} as const;

/** Rows written before the log was made coarse held error text: shown as `unreachable`. */
const coarse = (error: string | null): string | null =>
  error === null || error === DELIVERY_ERRORS.notAllowed || /^receiver answered \d{3}$/.test(error) ? error : DELIVERY_ERRORS.unreachable;

/** The delivery log: delivered or failed, with the receiver's status (see DELIVERY_ERRORS). */
export async function listDeliveries(knex: Knex, webhookId: number): Promise<DeliveryInfo[]> {
  const rows = (await knex('webhook_deliveries')
    .where({ webhook_id: webhookId })
    .orderBy('id', 'desc')
    .limit(100)) as (Omit<DeliveryInfo, 'delivered_at'> & { delivered_at: Date | null })[];
  return rows.map((r) => ({ ...r, id: Number(r.id), first_event_id: Number(r.first_event_id), last_event_id: Number(r.last_event_id), last_error: coarse(r.last_error), delivered_at: r.delivered_at?.toISOString() ?? null }));
}
