import { Knex } from 'knex';
import type { LocalDate } from '../domain/dates';
import { notFound } from '../errors';
import { Actor, audit } from './audit';
import type { Database } from './database';
import type { DayPoint } from './levels';
import { RECOMPUTE_LOCK } from './locks';

/**
 * A publication marks a day's levels as the official ones. Because levels are never
 * overwritten, "published" is simply "as known at the moment of publication".
 */
export type Publication = { id: number; date: LocalDate; published_at: string; note: string | null };

type Row = { id: number; date: LocalDate; published_at: Date; note: string | null };
const toPub = (r: Row): Publication => ({ id: r.id, date: r.date, published_at: r.published_at.toISOString(), note: r.note });

/**
 * Publishes `date`, idempotently. If the day's latest publication still shows what a
 * reading of the day shows now — no level row of that day appended since (a recomputation
 * appends one only where something changed: level, reason, inputs, children…) and no
 * override covering the day set, ended or withdrawn since — that publication is the answer
 * (`created: false`; its note stays, nothing is written or audited). Otherwise — the first
 * time, or a re-publication after a correction — a new publication (`created: true`).
 * Publications of one database are serialised (the recompute lock, held for the
 * transaction), so concurrent identical requests make one row.
 */
export async function publish(db: Database, date: LocalDate, note: string | null, actor: Actor = 'system'): Promise<{ publication: Publication; created: boolean }> {
  return db.write(async (trx) => {
    // Not in the middle of a recomputation (a published day is a whole day), nor of another publication.
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [RECOMPUTE_LOCK]);
    const last = (await trx('publications').where({ date }).orderBy('published_at', 'desc').orderBy('id', 'desc').first()) as Row | undefined;
    if (last && !(await changedSince(trx, date, last.id))) return { publication: toPub(last), created: false };
    const [row] = (await trx('publications').insert({ date, note }).returning('*')) as Row[];
    const pub = toPub(row as Row);
    await audit(trx, actor, { action: 'publication.create', target: date, after: pub });
    return { publication: pub, created: true };
  });
}

/**
 * Whether what a reading of `date` shows has changed since publication `id` (compared in the
 * database, to the microsecond): a level row of the day appended since, or an override
 * version covering the day opened or closed since — a new override, the shortened version an
 * end appends (the version it closes covered the day too), a withdrawal (it closes one).
 */
async function changedSince(trx: Knex, date: LocalDate, id: number): Promise<boolean> {
  const res = await trx.raw<{ rows: { changed: boolean }[] }>(
    `WITH p AS (SELECT published_at AS t FROM publications WHERE id = ?)
     SELECT EXISTS (SELECT 1 FROM level_chunks, p WHERE date = ?::date AND computed_at > p.t)
         OR EXISTS (SELECT 1 FROM overrides, p
                    WHERE date_from <= ?::date AND (date_until IS NULL OR date_until >= ?::date)
                      AND (created_at > p.t OR ended_at > p.t)) AS changed`,
    [id, date, date, date],
  );
  return res.rows[0]?.changed === true;
}

export async function listPublications(knex: Knex): Promise<Publication[]> {
  return ((await knex('publications').orderBy([{ column: 'date', order: 'desc' }, { column: 'published_at', order: 'desc' }])) as Row[]).map(toPub);
}

/** The instant to read levels at: the latest publication of `date` (known at `asOf`) or `asOf` itself. */
export async function readingPoint(knex: Knex, date: LocalDate, asOf: Date | null, version: 'published' | 'latest'): Promise<Date | null> {
  if (version === 'latest') return asOf;
  const q = knex('publications').where({ date }).orderBy('published_at', 'desc');
  if (asOf) q.whereRaw("published_at <= ?::timestamptz + interval '999 microseconds'", [asOf.toISOString()]);
  const row = (await q.first()) as Row | undefined;
  if (!row) throw notFound(`no publication of ${date}${asOf ? ` known at ${asOf.toISOString()}` : ''}`);
  return row.published_at;
}

/**
 * The published days of [from, to] — and the last published day before `from`, the one the
 * first of them is compared with — each with its reading point: the day's latest
 * publication known at `asOf` (null: now), as `readingPoint` gives it. In date order; days
 * without a publication are left out.
 */
export async function publishedDays(knex: Knex, from: LocalDate, to: LocalDate, asOf: Date | null): Promise<DayPoint[]> {
  const known = asOf ? "published_at <= ?::timestamptz + interval '999 microseconds'" : 'true';
  const bind = asOf ? [asOf.toISOString()] : [];
  const res = await knex.raw<{ rows: { date: LocalDate; at: Date }[] }>(
    `SELECT date::text AS date, max(published_at) AS at FROM publications
     WHERE ${known} AND date <= ?::date
       AND date >= coalesce((SELECT max(date) FROM publications WHERE ${known} AND date < ?::date), ?::date)
     GROUP BY date ORDER BY date`,
    [...bind, to, ...bind, from, from],
  );
  return res.rows.map((r) => ({ date: r.date, asOf: r.at }));
}
