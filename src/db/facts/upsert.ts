import type { Database } from '../database';
import { arrayBindings } from '../knex';
import { audit } from '../audit';
import { closeBatch, openBatch } from '../imports';
import { AREAS_LOCK, factTableLock } from '../locks';
import { log } from '../../log';
import { dayNumber, fromDayNumber, LocalDate } from '../../domain/dates';
import { FactIngest, Scope, UpsertOptions } from './factIngest';
import { RowSource } from './sink';
import { FactSpec, UpsertResult } from './spec';

/**
 * Daily facts per area (reports, metrics), upserted in bulk, all or nothing: one
 * transaction (`db.write`), ingests into one table serialised.
 *
 * Rows are validated and resolved (area code → id, duplicates) in Node as they stream in
 * (FactIngest), then applied in chunks of about 150,000 rows, each chunk written while the
 * next is parsed (ChunkWriter: straight in where no key can exist yet, else diffed through
 * a staging table). Rows arrive either as validated cells (JSON, and CSV rows the byte lane
 * is unsure of) or already encoded as binary COPY tuples by a byte lane (the bulk CSV path,
 * no string per row). The audit trail records what the upsert did.
 */
type ScopeRow = { id: number; lo: LocalDate | null; hi: LocalDate | null };
const SCOPE_SQL = 'SELECT DISTINCT descendant AS id, lower(during)::text AS lo, upper(during)::text AS hi FROM area_tree WHERE ancestor = ANY(?::int[])';

/** The areas under a reporter's areas and the days each is (day numbers, `hi` exclusive; null: open). */
function scopeOf(rows: ScopeRow[]): Scope {
  const always = new Set<number>();
  const days = new Map<number, [number, number][]>();
  for (const r of rows) {
    if (r.lo === null && r.hi === null) always.add(r.id);
    else days.set(r.id, [...(days.get(r.id) ?? []), [r.lo === null ? -Infinity : dayNumber(r.lo), r.hi === null ? Infinity : dayNumber(r.hi)]]);
  }
  return { has: (id, day) => always.has(id) || (days.get(id)?.some(([lo, hi]) => day >= lo && day < hi) ?? false) };
}

export async function upsertFacts(db: Database, spec: FactSpec, source: RowSource, opts: UpsertOptions): Promise<UpsertResult> {
  const started = Date.now();
  const result = await db.write(async (trx) => {
    // The diff is computed against what this transaction reads: no other ingest may interleave.
    await trx.raw('SELECT pg_advisory_xact_lock(?), pg_advisory_xact_lock_shared(?)', [factTableLock(spec.table), AREAS_LOCK]);
    // The chunk diff hashes up to 150,000 rows. JIT would compile every chunk's statement
    // afresh (~30 ms each) to save less than that on a hash join.
    await trx.raw("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off");
    const maxId = await trx('areas').max<{ max: number | null }[]>('id as max');
    // a reporter's scope: its areas and everything below them on each day (a commune moved to
    // another district is the new district's from that day), as of this transaction
    const allowed = opts.scope ? scopeOf((await trx.raw<{ rows: ScopeRow[] }>(SCOPE_SQL, arrayBindings([opts.scope]))).rows) : null;
    const batch = opts.batch ? await openBatch(trx, opts.actor ?? 'system', opts.batch) : null;
    const ingest = new FactIngest(trx, db, spec, maxId[0]?.max ?? 0, opts, allowed);
    try {
      await source(ingest);
    } catch (e) {
      await ingest.abandon();
      throw e;
    }
    const done = await ingest.finish();
    await audit(trx, opts.actor ?? 'system', {
      action: `${spec.table}.upsert`,
      areas: ingest.touchedCodes(),
      // the superseded values themselves are kept in the revisions table
      before: { superseded: done.updated, kept_in: spec.revisions },
      after: { ...done, rows: done.inserted + done.updated + done.unchanged, days: ingest.touched.size ? [fromDayNumber(ingest.firstDay), fromDayNumber(ingest.lastDay)] : null },
    });
    if (!batch || !opts.batch) return done;
    return { ...done, import: await closeBatch(trx, batch, done.inserted + done.updated + done.unchanged, done, opts.batch) };
  });
  log.debug('facts upserted', { table: spec.table, ...result, ms: Date.now() - started });
  return result;
}
