import { Routes } from '../access';
import { areaId } from '../../db/areas';
import { listPublications, publish, readingPoint } from '../../db/publications';
import { changesPage, CHANGES_PAGE_DAYS, ChangesCursor, decodeChangesCursor, encodeChangesCursor, zonesOn } from '../../db/zones';
import { AreaKind } from '../../domain/areas';
import { addDays } from '../../domain/dates';
import { LEVELS, levelIndex, LevelOrUnknown } from '../../domain/levels';
import { notFound } from '../../errors';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { changesQuery, levelsQuery, publicationBody, todayIn } from '../schemas';
import { parseBody, parseQuery } from '../validation';
import { asOfOf, range } from './zones';
import { arrayBindings } from '../../db/knex';
import { writer } from '../auth';

/** What a steering committee reads: the change feed, the summary, the published days. */
export function commandRouter({ db, config }: AppContext): Routes {
  const r = new Routes();
  const { knex } = db;
  const reads = db.read;

  r.get('/v1/changes', 'read', async (req, res) => {
    const q = parseQuery(changesQuery, req.query);
    const until = q.until ?? todayIn(config);
    const since = q.since ?? addDays(until, -6);
    range(since, until);
    if (q.parent && (await areaId(reads, q.parent)) === null) throw notFound(`no area has code ${q.parent}`);
    const cursor = q.cursor === undefined ? null : decodeChangesCursor(q.cursor, since, until);
    // every page reads the levels as known at one instant: the one asked for, or the first page's
    const asOf = cursor?.asOf ?? asOfOf(q) ?? (await reads.raw<{ rows: { now: Date }[] }>('SELECT now() AS now')).rows[0]?.now ?? new Date();
    const from = cursor?.date ?? since;
    const last = addDays(from, CHANGES_PAGE_DAYS - 1);
    const to = last < until ? last : until;
    const page = await changesPage(reads, from, to, asOf, { kind: q.kind, within: q.parent }, q.limit + 1, cursor?.after ? { date: from, code: cursor.after } : null);
    const items = page.slice(0, q.limit);
    const end = items[items.length - 1];
    const next: ChangesCursor | null = page.length > q.limit && end ? { date: end.date, after: end.code, asOf } : to < until ? { date: addDays(to, 1), after: null, asOf } : null;
    res.json({ since, until, items, next_cursor: next ? encodeChangesCursor(next) : null });
  });

  r.get('/v1/summary', 'read', async (req, res) => {
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

  r.post('/v1/publications', 'admin', accepts('application/json'), async (req, res) => {
    const body = parseBody(publicationBody, req.body);
    // the same day again with nothing changed since: that publication, 200 (src/db/publications.ts)
    const { publication, created } = await publish(knex, body.date, body.note ?? null, writer(res));
    res.status(created ? 201 : 200).json(publication);
  });

  r.get('/v1/publications', 'read', async (_req, res) => {
    res.json({ items: await listPublications(reads) });
  });

  return r;
}
