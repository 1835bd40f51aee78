import type { LocalDate } from '../domain/dates';
import type { Level } from '../domain/levels';
import { AppError, notFound } from '../errors';
import { Actor, audit } from './audit';
import type { Database } from './database';
import { OVERRIDE_LOCK } from './locks';

export type OverrideValues = {
  area_id: number;
  level: Level;
  reason: string;
  note: string | null;
  author: string | null;
  date_from: LocalDate;
  date_until: LocalDate | null;
};

type Existing = { id: string | number; date_from: LocalDate; date_until: LocalDate | null; level: string };

const period = (from: string, until: string | null) => `${from} → ${until ?? 'không thời hạn / open'}`;

/**
 * Sets a command-centre override, refusing overlap: at most one active (not ended) override
 * covers an area on any day. If one already covers any day of [from, until] (inclusive;
 * no `until` = open-ended), nothing is written and the answer is 409 `override_overlaps`,
 * naming `from`/`until` and the existing override's id and period — end it first
 * (DELETE …/overrides/{id}), then set the new one. Under a per-area transaction advisory
 * lock, so concurrent requests for one area are judged one after the other (exactly one of
 * ten overlapping ones is set); areas do not wait for each other. One transaction with its
 * audit row.
 */
export async function setOverride(db: Database, code: string, values: OverrideValues, actor: Actor): Promise<{ id: number; created_at: Date }> {
  return db.write(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?, ?)', [OVERRIDE_LOCK, values.area_id]);
    const overlapping = (
      await trx.raw<{ rows: Existing[] }>(
        `SELECT id, date_from::text AS date_from, date_until::text AS date_until, level FROM overrides
         WHERE area_id = ? AND ended_at IS NULL
           AND date_from <= coalesce(?::date, 'infinity'::date) AND coalesce(date_until, 'infinity'::date) >= ?::date
         ORDER BY date_from, id LIMIT 10`,
        [values.area_id, values.date_until, values.date_from],
      )
    ).rows;
    if (overlapping.length) throw overlapError(code, values, overlapping);
    const [inserted] = (await trx('overrides').insert(values).returning(['id', 'created_at'])) as { id: number; created_at: Date }[];
    const created = inserted as { id: number; created_at: Date };
    await audit(trx, actor, { action: 'override.create', target: `override:${created.id}`, areas: [code], after: { ...values, area: code, id: Number(created.id) } });
    return created;
  });
}

/**
 * Ends an active override of an area now (its days read as computed again from now on; as
 * known before, they still read overridden). 404 when the area has no such active
 * override. One transaction with its audit row.
 */
export async function endOverride(db: Database, code: string, areaId: number, overrideId: number, actor: Actor): Promise<{ ended_at: Date }> {
  return db.write(async (trx) => {
    const rows = (await trx('overrides').where({ id: overrideId, area_id: areaId }).whereNull('ended_at').update({ ended_at: trx.fn.now() }).returning(['id', 'ended_at'])) as { id: number; ended_at: Date }[];
    const ended = rows[0];
    if (!ended) throw notFound(`no active override ${overrideId} on ${code}`);
    await audit(trx, actor, { action: 'override.end', target: `override:${overrideId}`, areas: [code], before: { ended_at: null }, after: { ended_at: ended.ended_at.toISOString() } });
    return { ended_at: ended.ended_at };
  });
}

function overlapError(code: string, v: OverrideValues, existing: Existing[]): AppError {
  const first = existing[0] as Existing;
  const ids = existing.map((e) => Number(e.id));
  const named = existing.map((e) => `override ${e.id} (${e.level}, ${period(e.date_from, e.date_until)})`).join(', ');
  return new AppError(
    409,
    'override_overlaps',
    `Khu vực ${code} đã có quyết định điều chỉnh cấp độ ${ids.join(', ')} trong thời gian ${period(v.date_from, v.date_until)}; hãy kết thúc nó trước — ` +
      `an active ${named} of ${code} overlaps ${period(v.date_from, v.date_until)}: end it first (DELETE /v1/zones/${code}/overrides/${first.id})`,
    [
      { path: 'from', message: `${v.date_from} falls in or before the period of active ${named}` },
      { path: 'until', message: `${v.date_until ?? '(open-ended)'} reaches into the period of active ${named}` },
    ],
  );
}
