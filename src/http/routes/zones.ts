import { Routes } from '../access';
import { areaId } from '../../db/areas';
import { noteWrite } from '../../db/changes';
import { setOverride } from '../../db/overrides';
import { readingPoint } from '../../db/publications';
import { ruleSetDefinition, StoredRuleSet } from '../../db/rulesets';
import { explain, flips, series, zoneInputs, zoneOn, zonesOn, ZoneRow } from '../../db/zones';
import { addDays, LocalDate } from '../../domain/dates';
import { MetricValue } from '../../domain/rules/engine';
import { badRequest, notFound } from '../../errors';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { cachedJson } from '../caching';
import { mapEtag } from '../../db/maps';
import { areaCodeParam, levelsQuery, LevelsQuery, overrideBody, todayIn } from '../schemas';
import { parseBody, parseQuery } from '../validation';
import { audit } from '../../db/audit';
import { writer } from '../auth';

const MAX_RANGE_DAYS = 400;

/** The `as_of` of a reading query as an instant (null: everything known now). */
export function asOfOf(q: Pick<LevelsQuery, 'as_of'>): Date | null {
  return q.as_of ? new Date(q.as_of) : null;
}

export function range(from: LocalDate, to: LocalDate): void {
  if (from > to) throw badRequest('from must not be after to', [{ path: 'from', message: 'must not be after to' }], 'invalid_query');
  if (addDays(from, MAX_RANGE_DAYS) < to) throw badRequest(`at most ${MAX_RANGE_DAYS} days at a time`, [{ path: 'to', message: 'range too long' }], 'invalid_query');
}

/** `inputs` as plain values (null where missing); the reasons and sources beside them. */
function inputsOf(zone: ZoneRow, rs: Pick<StoredRuleSet, 'definition'> | null): { inputs: Record<string, number | null>; input_details: Record<string, { missing?: string; detail?: string }> } {
  const inputs: Record<string, number | null> = {};
  const details: Record<string, { missing?: string; detail?: string }> = {};
  for (const [name, v] of Object.entries(rs ? zoneInputs(rs.definition, zone) : {}) as [string, MetricValue & { detail?: string }][]) {
    inputs[name] = 'value' in v ? v.value : null;
    if ('missing' in v || v.detail) details[name] = { ...('missing' in v ? { missing: v.missing } : {}), ...(v.detail ? { detail: v.detail } : {}) };
  }
  return { inputs, input_details: details };
}

const listItem = (z: ZoneRow) => ({
  code: z.code,
  name: z.name,
  kind: z.kind,
  parent: z.parent,
  level: z.level,
  level_number: z.level_number,
  since: z.since,
  rule_set: z.rule_set,
  reason: z.reason,
  overridden: z.override !== null,
});

export function zonesRouter({ db, config }: AppContext): Routes {
  const r = new Routes();
  const { knex } = db;
  const reads = db.read;

  r.get('/v1/zones', 'read', async (req, res) => {
    const q = parseQuery(levelsQuery, req.query);
    const date = q.date ?? todayIn(config);
    const asOf = await readingPoint(reads, date, asOfOf(q), q.version);
    const rows = await zonesOn(reads, date, asOf, { kind: q.kind, parent: q.parent, level: q.level });
    res.json({ date, as_of: asOf?.toISOString() ?? null, version: q.version, items: rows.map(listItem) });
  });

  r.get('/v1/zones/:code', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(levelsQuery, req.query);
    const date = q.date ?? todayIn(config);
    const asOf = await readingPoint(reads, date, asOfOf(q), q.version);
    // the tag changes with the day's levels, overrides and areas: the body is built once per tag
    const etag = await mapEtag(reads, { date, asOf }, `zone:${code}`);
    await cachedJson(req, res, etag, async () => {
      const z = await zoneOn(reads, code, date, asOf);
      const rs = z.rule_set ? await ruleSetDefinition(reads, z.rule_set) : null;
      return {
        code: z.code,
        name: z.name,
        kind: z.kind,
        parent: z.parent,
        date,
        level: z.level,
        level_number: z.level_number,
        since: z.since,
        computed_level: z.computed_level,
        reason: z.reason,
        rule_set: rs ? { id: rs.id, name: rs.name, version: rs.version } : null,
        ...inputsOf(z, rs),
        children: z.children,
        explanation: rs ? explain(rs.definition, z) : [],
        pending: z.pending,
        override: z.override,
        computed_at: z.computed_at,
      };
    });
  });

  r.get('/v1/zones/:code/history', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(levelsQuery, req.query);
    const to = q.to ?? todayIn(config);
    const from = q.from ?? addDays(to, -29);
    range(from, to);
    if ((await areaId(reads, code)) === null) throw notFound(`no area has code ${code}`);
    const asOf = asOfOf(q);
    // one day before `from`, so that a change on `from` itself is seen
    const s = await series(reads, addDays(from, -1), to, asOf, { code });
    const all = [...s.days.values()][0] ?? [];
    res.json({
      code,
      from,
      to,
      days: all.slice(1).map((d) => ({ date: d.date, level: d.level, ...(d.override ? { override: true } : {}) })),
      changes: flips(all),
    });
  });

  r.post('/v1/zones/:code/overrides', 'admin', accepts('application/json'), async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const body = parseBody(overrideBody, req.body);
    const id = await areaId(knex, code);
    if (id === null) throw notFound(`no area has code ${code}`);
    const values = { area_id: id, level: body.level, reason: body.reason, note: body.note ?? null, author: body.author ?? null, date_from: body.from, date_until: body.until ?? null };
    // an active override already covering any of these days → 409 naming it (src/db/overrides.ts)
    const row = await setOverride(knex, code, values, writer(res));
    noteWrite();
    res.status(201).json({
      id: Number(row.id),
      code,
      level: body.level,
      reason: body.reason,
      note: body.note ?? null,
      author: body.author ?? null,
      from: body.from,
      until: body.until ?? null,
      created_at: row.created_at.toISOString(),
    });
  });

  r.delete('/v1/zones/:code/overrides/:id', 'admin', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const overrideId = Number(req.params.id);
    if (!Number.isInteger(overrideId) || overrideId < 1) throw badRequest('override id must be a positive integer', [{ path: 'id', message: 'invalid' }], 'invalid_query');
    const id = await areaId(knex, code);
    if (id === null) throw notFound(`no area has code ${code}`);
    const ended = await knex.transaction(async (trx) => {
      const rows = (await trx('overrides').where({ id: overrideId, area_id: id }).whereNull('ended_at').update({ ended_at: trx.fn.now() }).returning(['id', 'ended_at'])) as { id: number; ended_at: Date }[];
      if (rows.length === 0) throw notFound(`no active override ${overrideId} on ${code}`);
      const at = (rows[0] as { ended_at: Date }).ended_at.toISOString();
      await audit(trx, writer(res), { action: 'override.end', target: `override:${overrideId}`, areas: [code], before: { ended_at: null }, after: { ended_at: at } });
      return rows;
    });
    noteWrite();
    res.json({ id: overrideId, code, ended_at: (ended[0] as { ended_at: Date }).ended_at.toISOString() });
  });

  return r;
}
