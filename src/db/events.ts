import { Knex } from 'knex';
import { AreaKind } from '../domain/areas';
import { LevelOrUnknown } from '../domain/levels';
import { StoredChange, storedChangeText } from '../domain/rules/change';
import { RuleSet } from '../domain/rules/definition';
import { notFound } from '../errors';
import { Actor, audit } from './audit';

/**
 * A level change: what was said of an area for a day, and what is said now. `reason`: why it
 * changed, in English, where recomputation recorded it (`reason_text`: in both languages),
 * else the level's reason code.
 */
export type LevelEvent = {
  id: number;
  at: string;
  area: string;
  name: string;
  date: string;
  from: string | null;
  to: string;
  reason: string | null;
  reason_text?: { vi: string; en: string };
};

type EventRow = Omit<LevelEvent, 'at' | 'id' | 'reason_text'> & { id: string | number; at: Date; kind: AreaKind; change: StoredChange | null; rule_set_id: string | null };

export async function eventsAfter(knex: Knex, afterId: number, limit = 500): Promise<LevelEvent[]> {
  const rows = (await knex('level_events as e')
    .join('areas as a', 'a.id', 'e.area_id')
    .where('e.id', '>', afterId)
    .orderBy('e.id')
    .limit(limit)
    .select('e.id', 'e.at', 'a.code as area', 'a.name', 'a.kind', knex.raw('e.date::text AS date'), 'e.from_level as from', 'e.to_level as to', 'e.reason', 'e.change', 'e.rule_set_id')) as EventRow[];
  // the words of each recorded change, with the rule set that judged its day (read once each)
  const ids = [...new Set(rows.flatMap((r) => (r.change && r.rule_set_id ? [r.rule_set_id] : [])))];
  const sets = ids.length ? ((await knex('rule_sets').whereIn('id', ids).select('id', 'definition')) as { id: string; definition: RuleSet }[]) : [];
  const rules = new Map(sets.map((r) => [r.id, r.definition]));
  return rows.map(({ kind, change, rule_set_id, ...r }) => {
    const event: LevelEvent = { ...r, id: Number(r.id), at: r.at.toISOString() };
    const words = change ? storedChangeText(rule_set_id ? (rules.get(rule_set_id) ?? null) : null, kind, change, (r.from ?? 'unknown') as LevelOrUnknown, r.to as LevelOrUnknown) : null;
    if (words) return { ...event, reason: words.en, reason_text: { vi: words.vi, en: words.en } };
    return event;
  });
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
