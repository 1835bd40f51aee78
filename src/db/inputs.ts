import { Knex } from 'knex';
import { AreaKind } from '../domain/areas';
import { dayNumber, fromDayNumber, LocalDate } from '../domain/dates';
import { FactNeeds, factNeeds, IndicatorRow, InputSeries, ReportColumns, SeriesArea } from '../domain/inputs';
import { RuleSet } from '../domain/rules/definition';
import { Inputs } from '../domain/rules/engine';
import { arrayBindings } from './knex';

/**
 * The stored facts a rule set needs, loaded for a span of days in a few set-based
 * statements; the inputs themselves are computed by domain/inputs.ts. Areas above
 * communes are assessed on their own aggregated figures: the reports of their whole
 * subtree, their own census population.
 */
export type AreaNode = { id: number; code: string; kind: AreaKind; parent_id: number | null; population: number | null };

/** The areas to classify. Their ancestor closure is the area_tree table, kept by area imports. */
export async function loadAreas(trx: Knex): Promise<AreaNode[]> {
  return (await trx('areas').select('id', 'code', 'kind', 'parent_id', 'population').orderBy('id')) as AreaNode[];
}

/**
 * Loads the facts for days [from, to] and returns their inputs series. Each query returns
 * its rows as one compact text ("a,b,c;a,b,c…"), parsed straight into typed arrays: far
 * cheaper than a row object per report when a backfill reads millions of them.
 */
export async function loadInputSeries(knex: Knex, ruleSet: RuleSet, areas: SeriesArea[], from: LocalDate, to: LocalDate): Promise<InputSeries> {
  const needs = factNeeds(ruleSet, from);
  const reports = needs.reportsFrom ? await loadReports(knex, needs.reportsFrom, to) : columns(0);
  const indicators = needs.indicators.length || needs.sums.length ? await loadIndicators(knex, needs, to) : [];
  return new InputSeries(ruleSet, areas, from, to, reports, indicators);
}

/** Inputs of every area on one date (the rule-set preview, tests). */
export async function computeInputs(knex: Knex, ruleSet: RuleSet, date: LocalDate, areas: SeriesArea[]): Promise<Map<number, Inputs>> {
  return (await loadInputSeries(knex, ruleSet, areas, date, date)).inputsOn(date);
}

function columns(length: number): ReportColumns {
  return {
    length,
    area_id: new Int32Array(length),
    day: new Int32Array(length),
    community_cases: new Int32Array(length),
    quarantine_cases: new Int32Array(length),
    deaths: new Int32Array(length),
  };
}

/** Calls `take` with each row's non-negative integers of "1,2,3;4,5,6". */
function eachIntRow(text: string, width: number, take: (row: Int32Array) => void): void {
  const row = new Int32Array(width);
  let field = 0;
  let n = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 59;
    if (c === 44 || c === 59) {
      row[field++] = n;
      n = 0;
      if (c === 59) {
        take(row);
        field = 0;
      }
    } else n = n * 10 + (c - 48);
  }
}

async function loadReports(knex: Knex, from: LocalDate, to: LocalDate): Promise<ReportColumns> {
  const res = await knex.raw<{ rows: { n: number; t: string | null }[] }>(
    `SELECT count(*)::int AS n,
            string_agg(area_id || ',' || (date - ?::date) || ',' || community_cases || ',' || quarantine_cases || ',' || coalesce(deaths, 0), ';') AS t
     FROM reports WHERE date BETWEEN ? AND ?`,
    [from, from, to],
  );
  const { n, t } = res.rows[0] ?? { n: 0, t: null };
  const out = columns(n);
  if (!t) return out;
  const base = dayNumber(from);
  let k = 0;
  eachIntRow(t, 5, (r) => {
    out.area_id[k] = r[0] as number;
    out.day[k] = base + (r[1] as number);
    out.community_cases[k] = r[2] as number;
    out.quarantine_cases[k] = r[3] as number;
    out.deaths[k] = r[4] as number;
    k++;
  });
  return out;
}

/**
 * Indicator rows of the span, and for indicators read by latest value, each area's last
 * row before it (an old value still decides whether the nearest ancestor is asked).
 */
async function loadIndicators(knex: Knex, needs: FactNeeds, to: LocalDate): Promise<IndicatorRow[]> {
  const names = [...new Set([...needs.indicators, ...needs.sums])];
  const lo = needs.indicatorsFrom < needs.sumsFrom ? needs.indicatorsFrom : needs.sumsFrom;
  const res = await knex.raw<{ rows: { t: string | null }[] }>(
    `WITH names AS (SELECT name, i FROM unnest(?::text[]) WITH ORDINALITY AS n(name, i)),
     rows AS (
       SELECT m.area_id, m.name, m.date, m.value FROM metrics m WHERE m.name = ANY(?::text[]) AND m.date BETWEEN ? AND ?
       UNION ALL
       SELECT a.id, n.name, l.date, l.value
       FROM areas a CROSS JOIN unnest(?::text[]) AS n(name)
       CROSS JOIN LATERAL (SELECT date, value FROM metrics m WHERE m.area_id = a.id AND m.name = n.name AND m.date < ? ORDER BY m.date DESC LIMIT 1) l
     )
     SELECT string_agg(r.area_id || ',' || n.i || ',' || (r.date - ?::date) || ',' || r.value::text, ';') AS t
     FROM rows r JOIN names n USING (name)`,
    arrayBindings([names, names, lo, to, needs.indicators, lo, lo]),
  );
  const text = res.rows[0]?.t;
  if (!text) return [];
  const base = dayNumber(lo);
  return text.split(';').map((row) => {
    const [area, name, day, value] = row.split(',') as [string, string, string, string];
    return { area_id: Number(area), name: names[Number(name) - 1] as string, date: fromDayNumber(base + Number(day)), value: Number(value) };
  });
}
