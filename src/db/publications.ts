import { Knex } from 'knex';
import type { LocalDate } from '../domain/dates';
import { notFound } from '../errors';
import { RECOMPUTE_LOCK } from '../jobs/recompute';
import { Actor, audit } from './audit';

/**
 * A publication marks a day's levels as the official ones. Because levels are never
 * overwritten, "published" is simply "as known at the moment of publication".
 */
export type Publication = { id: number; date: LocalDate; published_at: string; note: string | null };

type Row = { id: number; date: LocalDate; published_at: Date; note: string | null };
const toPub = (r: Row): Publication => ({ id: r.id, date: r.date, published_at: r.published_at.toISOString(), note: r.note });

export async function publish(knex: Knex, date: LocalDate, note: string | null, actor: Actor = 'system'): Promise<Publication> {
  return knex.transaction(async (trx) => {
    // Not in the middle of a recomputation: a published day is a whole day.
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [RECOMPUTE_LOCK]);
    const [row] = (await trx('publications').insert({ date, note }).returning('*')) as Row[];
    const pub = toPub(row as Row);
    await audit(trx, actor, { action: 'publication.create', target: date, after: pub });
    return pub;
  });
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
