import { Knex } from 'knex';
import { addDays, LocalDate } from '../domain/dates';
import { LINEAGE_EVENTS, LineageEvent, lineageEvent, SHARE_TOLERANCE } from '../domain/lineage';
import { DetailCollector, notFound } from '../errors';
import type { AreaInput } from '../geo/features';
import { importAreasIn, ImportAreasResult } from './areas';
import { Actor, audit } from './audit';
import type { Database } from './database';
import { arrayBindings } from './knex';
import { log } from '../log';
import { AREA_IMPORT_LOCK } from './locks';

/**
 * Reorganisations: the map changing on a day, written in one transaction (all or nothing).
 * Every statement over areas' validity, versions and lineage lives here; the day-of-map
 * reads use `zonerisk_areas_on(d)` (migration 20261202000016).
 */
export type Predecessor = { code: string; share: number | null; event?: LineageEvent | undefined };
export type NewArea = AreaInput & { predecessors: Predecessor[]; newTerritory: boolean };

export type ReorganisationPlan = {
  effective_date: LocalDate;
  retire: string[];
  areas: NewArea[];
  reparent: { code: string; parent: string }[];
  /** Levels already stored on or after the date are recomputed (by the caller) instead of refusing. */
  recompute: boolean;
  /** Reports of a retired area dated on or after the day go to the one successor that took it whole. */
  moveReports?: boolean | undefined;
  note?: string | undefined;
};

export type ReorganisationResult = {
  id: number;
  effective_date: LocalDate;
  retired: string[];
  created: string[];
  reparented: string[];
  lineage: number;
  areas: Pick<ImportAreasResult, 'warnings' | 'overlaps' | 'gaps' | 'repairs'>;
  /** Days already classified on or after the date: the caller recomputes them (null: none). */
  recompute: { from: LocalDate; to: LocalDate } | null;
  /** Reports of retired areas on or after the day moved to their successor (`move_reports`). */
  moved_reports: number;
};

export type ReorganiseOptions = { actor?: Actor; repair?: boolean; featurePath?: (i: number) => string };

type AreaState = { id: number; code: string; name: string; kind: string; valid_from: LocalDate | null; valid_to: LocalDate | null; attributes_from: LocalDate | null; population: number | null };

const STATE_COLS = `id, code, name, kind, valid_from::text AS valid_from, valid_to::text AS valid_to, attributes_from::text AS attributes_from, population`;

/** `a` exists on day `d`. */
const validOn = (a: AreaState, d: LocalDate) => (a.valid_from === null || a.valid_from <= d) && (a.valid_to === null || a.valid_to >= d);

/**
 * Applies a reorganisation on `effective_date` E: the retired areas end on E − 1; the new
 * areas begin on E (through the area import, so every boundary check holds) with their
 * predecessors; the re-parented areas keep their old parent until E − 1 (an area version)
 * and take the new one from E. Refused (422, nothing written) when:
 * - a retired or re-parented area is unknown, not in force on E − 1, or changes again after E;
 * - a retired area has reports or indicators on or after E;
 * - a new area has no predecessor (unless marked new territory), or a predecessor not in
 *   force on E − 1; shares out of (0, 1];
 * - a retired area's population is unaccounted for: the shares its successors took do not
 *   add up to 1 (a whole predecessor is a share of 1), or, with no successor, some child of it
 *   on E − 1 is neither retired nor re-parented;
 * - an area in force on E would keep a retired parent;
 * - levels are stored on or after E and `recompute` is not asked for (with it, the answer
 *   names the days to recompute).
 */
export async function reorganise(db: Database, plan: ReorganisationPlan, opts: ReorganiseOptions = {}): Promise<ReorganisationResult> {
  const actor = opts.actor ?? 'system';
  const E = plan.effective_date;
  const dayBefore = addDays(E, -1);
  return db.write(async (trx) => {
    const started = Date.now();
    const step = (name: string) => log.debug('reorganisation step', { step: name, ms: Date.now() - started });
    // one change of the map at a time (area imports take the same lock): what is checked below stays true
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [AREA_IMPORT_LOCK]);
    const errors = new DetailCollector();
    const named = [...plan.retire, ...plan.reparent.flatMap((r) => [r.code, r.parent]), ...plan.areas.flatMap((a) => a.predecessors.map((p) => p.code))];
    const states = new Map(
      (await trx.raw<{ rows: AreaState[] }>(`SELECT ${STATE_COLS} FROM areas WHERE code = ANY(?::text[])`, arrayBindings([[...new Set(named)]]))).rows.map((r) => [r.code, r]),
    );
    if (plan.retire.length === 0 && plan.areas.length === 0 && plan.reparent.length === 0) {
      errors.add('(root)', 'nothing to do: a reorganisation retires, creates or re-parents at least one area');
    }
    // Reorganisations are written in the order of their days: lineage, versions and the checks
    // below assume no later change of the map exists when one is applied.
    const latest = (await trx.raw<{ rows: { d: string | null }[] }>('SELECT max(effective_date)::text AS d FROM reorganisations')).rows[0]?.d ?? null;
    if (latest !== null && latest >= E) {
      errors.add('effective_date', `a reorganisation on ${latest} is recorded already: a new one must take effect after it (put the changes of one day in one reorganisation)`);
    }
    const newByCode = new Map(plan.areas.map((a) => [a.code, a]));
    const seenRetire = new Set<string>();
    plan.retire.forEach((code, i) => {
      const a = states.get(code);
      const path = `retire[${i}]`;
      if (seenRetire.has(code)) return errors.add(path, `${code} is listed twice`);
      seenRetire.add(code);
      if (!a) return errors.add(path, `no area has code ${code}`);
      if (!validOn(a, dayBefore)) return errors.add(path, `${code} is not in force on ${dayBefore}, the day before the reorganisation`);
      if (a.valid_to !== null) return errors.add(path, `${code} already ends on ${a.valid_to}`);
      if (a.attributes_from !== null && a.attributes_from > dayBefore) errors.add(path, `${code} changes on ${a.attributes_from}, after ${dayBefore}`);
    });
    const seenReparent = new Set<string>();
    plan.reparent.forEach((r, i) => {
      const a = states.get(r.code);
      const p = states.get(r.parent) ?? newByCode.get(r.parent);
      const path = `reparent[${i}]`;
      if (seenReparent.has(r.code)) return errors.add(`${path}.code`, `${r.code} is re-parented twice`);
      seenReparent.add(r.code);
      if (!a) return errors.add(`${path}.code`, `no area has code ${r.code}`);
      if (seenRetire.has(r.code)) return errors.add(`${path}.code`, `${r.code} is retired by this reorganisation`);
      if (!validOn(a, dayBefore) || !validOn(a, E)) errors.add(`${path}.code`, `${r.code} is not in force on both ${dayBefore} and ${E}`);
      if (a.attributes_from !== null && a.attributes_from >= E) errors.add(`${path}.code`, `${r.code} already changes on ${a.attributes_from}`);
      if (!p) errors.add(`${path}.parent`, `no area has code ${r.parent} (nor does this reorganisation create it)`);
      else if ('id' in p && (seenRetire.has(p.code) || !validOn(p, E))) errors.add(`${path}.parent`, `${r.parent} is not in force on ${E}`);
      else if (rank(p.kind) >= rank(a.kind)) errors.add(`${path}.parent`, `a ${a.kind} cannot have a ${p.kind} (${r.parent}) as parent: the parent must be of a higher kind`);
    });
    const featurePath = opts.featurePath ?? ((i: number) => `areas.features[${i}]`);
    plan.areas.forEach((n, i) => {
      if (n.predecessors.length === 0 && !n.newTerritory) {
        errors.add(`${featurePath(i)}.properties.predecessors`, `new area ${n.code} has no predecessors: name the areas it is formed from, or mark it new_territory`);
      }
      const seen = new Set<string>();
      n.predecessors.forEach((pr, j) => {
        const path = `${featurePath(i)}.properties.predecessors[${j}]`;
        const a = states.get(pr.code);
        if (seen.has(pr.code)) return errors.add(path, `${pr.code} is named twice`);
        seen.add(pr.code);
        if (!a) return errors.add(path, `no area has code ${pr.code}`);
        if (!validOn(a, dayBefore)) errors.add(path, `${pr.code} is not in force on ${dayBefore}, the day before the reorganisation`);
        if (a.kind !== n.kind) errors.add(path, `${pr.code} is a ${a.kind}, ${n.code} a ${n.kind}: predecessors are areas of the same kind`);
      });
    });
    // An area that already gave part of itself to a successor and went on: its earlier reports
    // are partly that successor's, which a second set of shares would count again.
    const named2 = [...new Set(plan.areas.flatMap((a) => a.predecessors.map((p) => p.code)))];
    const gaveBefore = await trx.raw<{ rows: { code: string; date: string }[] }>(
      `SELECT p.code, max(l.date)::text AS date FROM area_lineage l JOIN areas p ON p.id = l.predecessor_id WHERE p.code = ANY(?::text[]) GROUP BY p.code ORDER BY p.code LIMIT 20`,
      arrayBindings([named2]),
    );
    for (const r of gaveBefore.rows) errors.add(`predecessors.${r.code}`, `${r.code} already gave part of its territory to a successor on ${r.date}: being a predecessor twice is not supported yet`);
    errors.throwIfAny(refusal, 'invalid_reorganisation');

    step('checked');
    // Shares: each retired predecessor's successors take all of it; a continuing one gives part.
    const taken = new Map<string, { share: number; by: string[]; path: string }>();
    for (const [i, n] of plan.areas.entries()) {
      for (const pr of n.predecessors) {
        const t = taken.get(pr.code) ?? { share: 0, by: [], path: `${featurePath(i)}.properties.predecessors` };
        t.share += pr.share ?? 1;
        t.by.push(n.code);
        taken.set(pr.code, t);
      }
    }
    for (const [code, t] of taken) {
      if (t.share > 1 + SHARE_TOLERANCE) errors.add(t.path, `the successors of ${code} (${t.by.join(', ')}) take ${round(t.share)} of its population, more than all of it`);
      else if (seenRetire.has(code) && t.share < 1 - SHARE_TOLERANCE) {
        errors.add(t.path, `${code} is retired but its successors (${t.by.join(', ')}) take only ${round(t.share)} of its population: the shares must add up to 1`);
      }
    }
    // Retired areas with no successor: every child of theirs on E − 1 goes somewhere.
    const reparented = new Set(plan.reparent.map((r) => r.code));
    const retiredIds = plan.retire.map((c) => (states.get(c) as AreaState).id);
    const children = await trx.raw<{ rows: { parent: string; code: string }[] }>(
      `SELECT p.code AS parent, c.code FROM zonerisk_areas_on(?::date) c JOIN areas p ON p.id = c.parent_id WHERE c.parent_id = ANY(?::int[]) ORDER BY c.code`,
      arrayBindings([dayBefore, retiredIds]),
    );
    const childrenOf = new Map<string, string[]>();
    for (const r of children.rows) childrenOf.set(r.parent, [...(childrenOf.get(r.parent) ?? []), r.code]);
    plan.retire.forEach((code, i) => {
      const kids = childrenOf.get(code) ?? [];
      const stranded = kids.filter((k) => !seenRetire.has(k) && !reparented.has(k));
      if (stranded.length) {
        errors.add(`retire[${i}]`, `${code} is retired but its part(s) ${stranded.slice(0, 10).join(', ')}${stranded.length > 10 ? '…' : ''} would be left under it: retire or re-parent them`);
      }
      if (!taken.has(code) && kids.length === 0 && (states.get(code)?.population ?? 0) > 0) {
        errors.add(`retire[${i}]`, `${code} is retired with no successor and no parts: its population (${states.get(code)?.population}) would be unaccounted for; name it as a predecessor of a new area`);
      }
    });
    step('children');
    // Facts of retired areas on or after the date belong to no area — unless moved: a retired
    // area's reports to the one successor that took it whole (move_reports).
    const late = await trx.raw<{ rows: { code: string; kind: 'reports' | 'metrics'; n: number; first: string }[] }>(
      `SELECT a.code, f.kind, count(*)::int AS n, min(f.date)::text AS first
       FROM (SELECT area_id, date, 'reports' AS kind FROM reports WHERE area_id = ANY(?::int[]) AND date >= ?::date
             UNION ALL SELECT area_id, date, 'metrics' FROM metrics WHERE area_id = ANY(?::int[]) AND date >= ?::date) f
       JOIN areas a ON a.id = f.area_id GROUP BY a.code, f.kind ORDER BY a.code, f.kind`,
      arrayBindings([retiredIds, E, retiredIds, E]),
    );
    const moved: string[] = [];
    for (const r of late.rows) {
      const path = `retire[${plan.retire.indexOf(r.code)}]`;
      const to = taken.get(r.code);
      if (r.kind === 'reports' && plan.moveReports) {
        // one successor taking all of it: its reports are that successor's (summed by day with the others it took)
        const whole = plan.areas.filter((n) => n.predecessors.some((p) => p.code === r.code && (p.share === null || p.share >= 1)));
        if (to?.by.length === 1 && whole.length === 1) moved.push(r.code);
        else errors.add(path, `${r.code} has ${r.n} report(s) on or after ${E} (first ${r.first}) and ${to ? `${to.by.length} successors` : 'no successor'}: reports move only to one successor that takes it whole; send them for its successors instead`);
        continue;
      }
      errors.add(
        path,
        r.kind === 'reports'
          ? `${r.code} has ${r.n} report(s) on or after ${E} (first ${r.first}): a retired area has no days from ${E} on — move them to its successor ("move_reports": true) or choose a later date`
          : `${r.code} has ${r.n} indicator row(s) on or after ${E} (first ${r.first}): a retired area has no days from ${E} on; choose a later date`,
      );
    }
    const classified = await trx.raw<{ rows: { last: string | null }[] }>(`SELECT max(date)::text AS last FROM level_chunks WHERE date >= ?::date`, [E]);
    const lastClassified = (classified.rows[0]?.last ?? null) as LocalDate | null;
    if (lastClassified && !plan.recompute) {
      errors.add('effective_date', `đã có cấp độ từ ngày ${E} đến ${lastClassified} — levels are already stored from ${E} to ${lastClassified}: ask for them to be recomputed on the new map ("recompute": true; zonerisk reorganise --recompute)`);
    }
    errors.throwIfAny(refusal, 'invalid_reorganisation');

    step('facts and levels');
    const reorg = await trx.raw<{ rows: { id: number }[] }>(
      `INSERT INTO reorganisations (effective_date, actor, note, summary) VALUES (?, ?, ?, '{}'::jsonb) RETURNING id`,
      [E, actor, plan.note ?? null],
    );
    const id = (reorg.rows[0] as { id: number }).id;
    if (retiredIds.length) await trx.raw('UPDATE areas SET valid_to = ?::date, updated_at = now() WHERE id = ANY(?::int[])', arrayBindings([dayBefore, retiredIds]));
    const imported = plan.areas.length
      ? await importAreasIn(trx, plan.areas, { actor, validFrom: E, featurePath, ...(opts.repair ? { repair: true } : {}) })
      : ({ warnings: [], overlaps: 0, gaps: { count: 0, area_m2: 0, worst: [] } } as Pick<ImportAreasResult, 'warnings' | 'overlaps' | 'gaps' | 'repairs'>);
    // a third of a country's areas may just have changed: the checks below plan on fresh statistics
    await trx.raw('ANALYZE areas');
    step('new areas');
    // the old attributes of a re-parented area become a version ending the day before
    if (plan.reparent.length) {
      await trx.raw(
        `WITH r AS (SELECT * FROM unnest(?::text[], ?::text[]) AS r(code, parent))
         INSERT INTO area_versions (area_id, valid_from, valid_to, parent_id, name, name_search, population, geom, label_point, reorganisation_id)
         SELECT a.id, coalesce(a.attributes_from, a.valid_from), ?::date, a.parent_id, a.name, a.name_search, a.population, a.geom, a.label_point, ?
         FROM r JOIN areas a ON a.code = r.code`,
        arrayBindings([plan.reparent.map((r) => r.code), plan.reparent.map((r) => r.parent), dayBefore, id]),
      );
      await trx.raw(
        `UPDATE areas a SET parent_id = p.id, attributes_from = ?::date, updated_at = now()
         FROM unnest(?::text[], ?::text[]) AS r(code, parent) JOIN areas p ON p.code = r.parent
         WHERE a.code = r.code`,
        arrayBindings([E, plan.reparent.map((r) => r.code), plan.reparent.map((r) => r.parent)]),
      );
    }
    // new areas under a parent that is gone, areas in force keeping a retired parent
    const orphaned = await trx.raw<{ rows: { code: string; parent: string }[] }>(
      `SELECT c.code, p.code AS parent FROM zonerisk_areas_on(?::date) c JOIN areas p ON p.id = c.parent_id
       WHERE NOT (p.valid_from IS NULL OR p.valid_from <= ?::date) OR NOT (p.valid_to IS NULL OR p.valid_to >= ?::date)
       ORDER BY c.code LIMIT 20`,
      [E, E, E],
    );
    for (const r of orphaned.rows) {
      const i = plan.areas.findIndex((a) => a.code === r.code);
      errors.add(
        i >= 0 ? `${featurePath(i)}.properties.parent` : 'reparent',
        `${r.code} would have ${r.parent} as parent on ${E}, but ${r.parent} is not in force then: ${i >= 0 ? 'give it a parent in force' : `re-parent it ("reparent": [{"code": "${r.code}", "parent": …}])`}`,
      );
    }
    errors.throwIfAny(refusal, 'invalid_reorganisation');

    step('parents');
    const links = plan.areas.flatMap((n) =>
      // a share of 1 is the whole area: stored as null, as when none is given
      n.predecessors.map((pr) => ({ area: n.code, predecessor: pr.code, share: pr.share === 1 ? null : pr.share, event: pr.event ?? lineageEvent(n, pr, taken.get(pr.code)?.by.length ?? 1, (states.get(pr.code) as AreaState).name) })),
    );
    if (links.length) {
      await trx.raw(
        `INSERT INTO area_lineage (area_id, predecessor_id, event, share, date, reorganisation_id)
         SELECT a.id, p.id, l.event, l.share, ?::date, ?
         FROM unnest(?::text[], ?::text[], ?::text[], ?::float8[]) AS l(area, predecessor, event, share)
         JOIN areas a ON a.code = l.area JOIN areas p ON p.code = l.predecessor`,
        arrayBindings([E, id, links.map((l) => l.area), links.map((l) => l.predecessor), links.map((l) => l.event), links.map((l) => l.share)]),
      );
    }
    step('lineage');
    await trx.raw('SELECT zonerisk_rebuild_area_tree()');
    step('tree');
    const movedReports = moved.length ? await moveReports(trx, moved, E) : 0;
    const result: ReorganisationResult = {
      id,
      effective_date: E,
      retired: [...plan.retire],
      created: plan.areas.map((a) => a.code),
      reparented: plan.reparent.map((r) => r.code),
      lineage: links.length,
      areas: { warnings: imported.warnings, overlaps: imported.overlaps, gaps: imported.gaps, ...(imported.repairs ? { repairs: imported.repairs } : {}) },
      recompute: lastClassified ? { from: E, to: lastClassified } : null,
      moved_reports: movedReports,
    };
    await trx.raw('UPDATE reorganisations SET summary = ?::jsonb WHERE id = ?', [JSON.stringify({ ...result, areas: undefined, overlaps: imported.overlaps, gaps: imported.gaps.count }), id]);
    await audit(trx, actor, {
      action: 'areas.reorganise',
      target: String(id),
      areas: [...result.retired, ...result.created, ...result.reparented].slice(0, 1000),
      after: { effective_date: E, retired: result.retired.length, created: result.created.length, reparented: result.reparented.length, lineage: links.length },
    });
    return result;
  });
}

/**
 * The reports of these retired areas (codes) dated on or after `E` become their successor's:
 * summed by day over the areas it took (a source naming them), the rows they replace kept as
 * superseded revisions (the history says what was sent, and when it was moved). Answers the
 * rows moved.
 */
async function moveReports(trx: Knex.Transaction, codes: string[], E: LocalDate): Promise<number> {
  const ids = `(SELECT id FROM areas WHERE code = ANY(?::text[]))`;
  await trx.raw(
    `INSERT INTO report_revisions (area_id, date, revision, community_cases, quarantine_cases, deaths, source, recorded_at, import_id)
     SELECT area_id, date, revision, community_cases, quarantine_cases, deaths, source, recorded_at, import_id
     FROM reports WHERE area_id IN ${ids} AND date >= ?::date`,
    arrayBindings([codes, E]),
  );
  await trx.raw(
    `INSERT INTO reports (area_id, date, community_cases, quarantine_cases, deaths, source)
     SELECT l.area_id, r.date, sum(r.community_cases), sum(r.quarantine_cases), sum(r.deaths),
            left('chuyển từ — moved from ' || string_agg(a.code, ', ' ORDER BY a.code), 200)
     FROM reports r JOIN area_lineage l ON l.predecessor_id = r.area_id JOIN areas a ON a.id = r.area_id
     WHERE r.area_id IN ${ids} AND r.date >= ?::date
     GROUP BY l.area_id, r.date`,
    arrayBindings([codes, E]),
  );
  const gone = await trx.raw<{ rowCount: number | null }>(`DELETE FROM reports WHERE area_id IN ${ids} AND date >= ?::date`, arrayBindings([codes, E]));
  return gone.rowCount ?? 0;
}

const refusal = (k: number) => `Không thực hiện sắp xếp: ${k} lỗi, không ghi gì — ${k} problem(s) with the reorganisation; nothing was written`;

const RANK: Record<string, number> = { province: 0, district: 1, commune: 2, subcommune: 3 };
const rank = (kind: string) => RANK[kind] ?? 9;
const round = (x: number) => Math.round(x * 1000) / 1000;

/** A reorganisation as recorded: its day, when it was written, its note and what it did. */
export type ReorganisationRecord = { id: number; effective_date: LocalDate; at: string; note: string | null; retired: number; created: number; reparented: number; lineage: number };

/** The reorganisations, latest day first (a country has a few a year). */
export async function listReorganisations(knex: Knex): Promise<ReorganisationRecord[]> {
  const res = await knex.raw<{ rows: { id: number; effective_date: LocalDate; at: Date; note: string | null; summary: { retired?: string[]; created?: string[]; reparented?: string[]; lineage?: number } }[] }>(
    'SELECT id, effective_date::text AS effective_date, at, note, summary FROM reorganisations ORDER BY effective_date DESC, id DESC LIMIT 1000',
  );
  return res.rows.map((r) => ({
    id: r.id,
    effective_date: r.effective_date,
    at: r.at.toISOString(),
    note: r.note,
    retired: r.summary.retired?.length ?? 0,
    created: r.summary.created?.length ?? 0,
    reparented: r.summary.reparented?.length ?? 0,
    lineage: r.summary.lineage ?? 0,
  }));
}

/** A lineage link as the API shows it. */
export type LineageLink = { code: string; name: string; kind: string; event: LineageEvent; share: number | null; date: LocalDate; generation: number };
export type ParentChange = { date: LocalDate; from: string | null; to: string | null };
export type Lineage = {
  code: string;
  name: string;
  valid_from: LocalDate | null;
  valid_to: LocalDate | null;
  predecessors: LineageLink[];
  successors: LineageLink[];
  /** Earlier parents of the area (its versions), oldest first. */
  parents: ParentChange[];
  /** More than MAX_LINEAGE_AREAS areas one way: the nearest generations are listed. */
  truncated?: true;
};

/** How many generations a lineage walks back or forward (a commune changes every few years), and how many areas it lists one way. */
const MAX_GENERATIONS = 20;
const MAX_LINEAGE_AREAS = 1000;

/**
 * The areas an area came from (or went to), generation by generation, each listed once —
 * with the link it was first reached by — at most MAX_LINEAGE_AREAS: one query a generation
 * over the frontier, however the links cross (a split then merged back is many paths, one area).
 */
async function walk(knex: Knex, start: number, way: 'predecessors' | 'successors'): Promise<{ links: LineageLink[]; truncated: boolean }> {
  const [from, to] = way === 'predecessors' ? ['area_id', 'predecessor_id'] : ['predecessor_id', 'area_id'];
  const seen = new Set<number>([start]);
  const links: LineageLink[] = [];
  let frontier = [start];
  for (let generation = 1; generation <= MAX_GENERATIONS && frontier.length > 0; generation++) {
    const res = await knex.raw<{ rows: (Omit<LineageLink, 'generation'> & { id: number })[] }>(
      `SELECT l.${to} AS id, x.code, x.name, x.kind, l.event, l.share, l.date::text AS date
       FROM area_lineage l JOIN areas x ON x.id = l.${to}
       WHERE l.${from} = ANY(?::int[]) ORDER BY l.date DESC, x.code LIMIT ?`,
      arrayBindings([frontier, MAX_LINEAGE_AREAS * 4]),
    );
    // a generation with more links than that is cut too (its nearest days first)
    const cut = res.rows.length >= MAX_LINEAGE_AREAS * 4;
    const next: number[] = [];
    for (const { id, ...link } of res.rows) {
      if (seen.has(id)) continue;
      if (links.length >= MAX_LINEAGE_AREAS) return { links, truncated: true };
      seen.add(id);
      links.push({ ...link, generation });
      next.push(id);
    }
    if (cut) return { links, truncated: true };
    frontier = next;
  }
  return { links, truncated: false };
}

/**
 * An area's predecessors and successors through time: every area its territory came from
 * (generation 1: the direct ones) and every area it went to, each with the event, the
 * share and the day; and the parents it had before its current one.
 */
export async function lineageOf(knex: Knex, code: string): Promise<Lineage> {
  const area = await knex.raw<{ rows: { id: number; code: string; name: string; valid_from: LocalDate | null; valid_to: LocalDate | null }[] }>(
    `SELECT id, code, name, valid_from::text AS valid_from, valid_to::text AS valid_to FROM areas WHERE code = ?`,
    [code],
  );
  const a = area.rows[0];
  if (!a) throw notFound(`no area has code ${code}`);
  const [pre, post, versions] = await Promise.all([
    walk(knex, a.id, 'predecessors'),
    walk(knex, a.id, 'successors'),
    knex.raw<{ rows: { date: LocalDate; from: string | null; to: string | null }[] }>(
      `SELECT (v.valid_to + 1)::text AS date, vp.code AS "from",
              coalesce((SELECT np.code FROM area_versions n LEFT JOIN areas np ON np.id = n.parent_id WHERE n.area_id = v.area_id AND n.valid_to > v.valid_to ORDER BY n.valid_to LIMIT 1), ap.code) AS "to"
       FROM area_versions v JOIN areas ar ON ar.id = v.area_id LEFT JOIN areas vp ON vp.id = v.parent_id LEFT JOIN areas ap ON ap.id = ar.parent_id
       WHERE v.area_id = ? ORDER BY v.valid_to`,
      [a.id],
    ),
  ]);
  return {
    code: a.code,
    name: a.name,
    valid_from: a.valid_from,
    valid_to: a.valid_to,
    predecessors: pre.links,
    successors: post.links,
    ...(pre.truncated || post.truncated ? { truncated: true } : {}),
    parents: versions.rows.filter((v) => v.from !== v.to),
  };
}

/**
 * The direct lineage neighbours of these areas (codes), by code: where each went
 * (`successors`), or where each came from (`predecessors`) — for messages naming them.
 */
async function linked(knex: Knex, codes: readonly string[], way: 'successors' | 'predecessors'): Promise<Map<string, string[]>> {
  if (codes.length === 0) return new Map();
  const [from, to] = way === 'successors' ? ['predecessor_id', 'area_id'] : ['area_id', 'predecessor_id'];
  const res = await knex.raw<{ rows: { code: string; codes: string[] }[] }>(
    `SELECT x.code, array_agg(y.code ORDER BY y.code) AS codes
     FROM areas x JOIN area_lineage l ON l.${from} = x.id JOIN areas y ON y.id = l.${to}
     WHERE x.code = ANY(?::text[]) GROUP BY x.code`,
    arrayBindings([codes]),
  );
  return new Map(res.rows.map((r) => [r.code, r.codes]));
}

/** The successors of these areas (codes): where a retired area went. */
export const successorsOf = (knex: Knex, codes: readonly string[]) => linked(knex, codes, 'successors');

/** The predecessors of these areas (codes): where a new area's territory was before. */
export const predecessorsOf = (knex: Knex, codes: readonly string[]) => linked(knex, codes, 'predecessors');

/** An area's direct predecessors with the share of each it took (null: all), and the day it began. */
export async function formedFrom(knex: Knex, areaId: number): Promise<{ date: LocalDate; from: { code: string; name: string; share: number | null }[] } | null> {
  const res = await knex.raw<{ rows: { date: LocalDate; code: string; name: string; share: number | null }[] }>(
    `SELECT l.date::text AS date, p.code, p.name, l.share FROM area_lineage l JOIN areas p ON p.id = l.predecessor_id WHERE l.area_id = ? ORDER BY p.code`,
    [areaId],
  );
  const first = res.rows[0];
  return first ? { date: first.date, from: res.rows.map((r) => ({ code: r.code, name: r.name, share: r.share })) } : null;
}

/** The direct predecessors of these areas (ids), by area. */
export async function predecessorIds(knex: Knex, ids: readonly number[]): Promise<Map<number, number[]>> {
  if (ids.length === 0) return new Map();
  const res = await knex.raw<{ rows: { area_id: number; ids: number[] }[] }>(
    'SELECT area_id, array_agg(predecessor_id ORDER BY predecessor_id) AS ids FROM area_lineage WHERE area_id = ANY(?::int[]) GROUP BY area_id',
    arrayBindings([ids]),
  );
  return new Map(res.rows.map((r) => [r.area_id, r.ids]));
}

export { LINEAGE_EVENTS };
