import { Router } from 'express';
import { areaId } from '../../db/areas';
import { listPublications, publish, readingPoint } from '../../db/publications';
import { flips, series, zonesOn } from '../../db/zones';
import { AreaKind } from '../../domain/areas';
import { addDays } from '../../domain/dates';
import { LEVELS, levelIndex, LevelOrUnknown } from '../../domain/levels';
import { notFound } from '../../errors';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { levelsQuery, publicationBody, todayIn } from '../schemas';
import { parseBody, parseQuery } from '../validation';
import { asOfOf, range } from './zones';
import { arrayBindings } from '../../db/knex';
import { actorOf } from '../../db/audit';
import { principalOf } from '../auth';

/** What a steering committee reads: the change feed, the summary, the published days. */
export function commandRouter({ db, config }: AppContext): Router {
  const r = Router();
  const { knex } = db;
  const reads = db.read;

  r.get('/v1/changes', async (req, res) => {
    const q = parseQuery(levelsQuery, req.query);
    const until = q.until ?? todayIn(config);
    const since = q.since ?? addDays(until, -6);
    range(since, until);
    if (q.parent && (await areaId(reads, q.parent)) === null) throw notFound(`no area has code ${q.parent}`);
    const s = await series(reads, addDays(since, -1), until, asOfOf(q), { kind: q.kind, within: q.parent });
    const items = s.areas.flatMap((a) => flips(s.days.get(a.id) ?? []).map((f) => ({ code: a.code, name: a.name, kind: a.kind, ...f })));
    items.sort((a, b) => a.date.localeCompare(b.date) || a.code.localeCompare(b.code));
    res.json({ since, until, items });
  });

  r.get('/v1/summary', async (req, res) => {
    const q = parseQuery(levelsQuery, req.query);
    const date = q.date ?? todayIn(config);
    const kind: AreaKind = q.kind ?? 'commune';
    if (q.parent && (await areaId(reads, q.parent)) === null) throw notFound(`no area has code ${q.parent}`);
    const asOf = await readingPoint(reads, date, asOfOf(q), q.version);
    const [today, yesterday] = await Promise.all([
      zonesOn(reads, date, asOf, { kind, within: q.parent }),
      zonesOn(reads, addDays(date, -1), asOf, { kind, within: q.parent }),
    ]);
    // new community cases on the day itself, over each area's whole subtree
    const cases = await reads.raw<{ rows: { area_id: number; cases: number }[] }>(
      `WITH RECURSIVE t AS (
         SELECT id AS top, id FROM areas WHERE id = ANY(?::int[])
         UNION ALL SELECT t.top, c.id FROM t JOIN areas c ON c.parent_id = t.id
       )
       SELECT t.top AS area_id, coalesce(sum(r.community_cases), 0)::int AS cases
       FROM t LEFT JOIN reports r ON r.area_id = t.id AND r.date = ?::date GROUP BY t.top`,
      arrayBindings([today.map((z) => z.area_id), date]),
    );
    const casesOf = new Map(cases.rows.map((c) => [c.area_id, c.cases]));
    const byLevel: Record<string, { areas: number; population: number; no_new_community_cases_24h: number }> = {};
    for (const l of [...LEVELS, 'unknown'] as LevelOrUnknown[]) byLevel[l] = { areas: 0, population: 0, no_new_community_cases_24h: 0 };
    for (const z of today) {
      const b = byLevel[z.level] as { areas: number; population: number; no_new_community_cases_24h: number };
      b.areas++;
      b.population += z.population ?? 0;
      if ((casesOf.get(z.area_id) ?? 0) === 0) b.no_new_community_cases_24h++;
    }
    const before = new Map(yesterday.map((z) => [z.area_id, z.level]));
    const moved = (dir: 1 | -1) =>
      today
        .filter((z) => {
          const prev = before.get(z.area_id);
          if (!prev || prev === 'unknown' || z.level === 'unknown') return false;
          return Math.sign(levelIndex(z.level) - levelIndex(prev)) === dir;
        })
        .map((z) => ({ code: z.code, name: z.name, from: before.get(z.area_id), to: z.level }));
    res.json({
      date,
      parent: q.parent ?? null,
      kind,
      version: q.version,
      as_of: asOf?.toISOString() ?? null,
      total: { areas: today.length, population: today.reduce((s, z) => s + (z.population ?? 0), 0) },
      by_level: byLevel,
      escalated: moved(1),
      deescalated: moved(-1),
    });
  });

  r.post('/v1/publications', accepts('application/json'), async (req, res) => {
    const body = parseBody(publicationBody, req.body);
    res.status(201).json(await publish(knex, body.date, body.note ?? null, actorOf(principalOf(res))));
  });

  r.get('/v1/publications', async (_req, res) => {
    res.json({ items: await listPublications(reads) });
  });

  return r;
}
