import { Knex } from 'knex';
import { isLocalDate } from '../domain/dates';

/** Who did a write: `key:<id>`, `admin-key` (ZONERISK_ADMIN_KEY), `cli`, or `system` (demo seeding, internal jobs). */
export type Actor = string;


export type AuditEntry = { action: string; target?: string | null; areas?: string[]; before?: unknown; after?: unknown };

const MAX_AREAS = 1000;

/** Records a write; call it inside the write's transaction. */
export async function audit(trx: Knex, actor: Actor, e: AuditEntry): Promise<void> {
  const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
  await trx('audit_log').insert({
    actor,
    action: e.action,
    target: e.target ?? null,
    areas: (e.areas ?? []).slice(0, MAX_AREAS),
    before: json(e.before),
    after: json(e.after),
  });
}

export type AuditRecord = { id: number; at: string; actor: string; action: string; target: string | null; areas: string[]; before: unknown; after: unknown };

export type AuditQuery = {
  /** An instant with its offset, or a day (YYYY-MM-DD). */
  since?: string | undefined;
  until?: string | undefined;
  area?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  limit: number;
  cursor?: number | undefined;
};

/**
 * Newest first, by id; `cursor` continues after the last id of a page. `since` and `until`
 * are instants (`until` excluded), or days in `timeZone`: `since` from the day's start,
 * `until` to its end (the whole day), PostgreSQL's time zones deciding where each begins.
 */
export async function listAudit(knex: Knex, q: AuditQuery, timeZone: string): Promise<{ items: AuditRecord[]; next_cursor: number | null }> {
  const query = knex('audit_log').orderBy('id', 'desc').limit(q.limit + 1);
  const at = (v: string, days: number) => (isLocalDate(v) ? knex.raw('(?::date + ?::int)::timestamp AT TIME ZONE ?', [v, days, timeZone]) : v);
  if (q.since) query.where('at', '>=', at(q.since, 0));
  if (q.until) query.where('at', '<', at(q.until, 1));
  if (q.area) query.whereRaw('areas @> ARRAY[?]::text[]', [q.area]);
  if (q.actor) query.where('actor', q.actor);
  if (q.action) query.where('action', q.action);
  if (q.cursor !== undefined) query.where('id', '<', q.cursor);
  const rows = (await query) as (Omit<AuditRecord, 'at' | 'id'> & { id: number | string; at: Date })[];
  const more = rows.length > q.limit;
  const items = rows.slice(0, q.limit).map((r) => ({ ...r, id: Number(r.id), at: r.at.toISOString() }));
  return { items, next_cursor: more ? (items[items.length - 1]?.id ?? null) : null };
}
