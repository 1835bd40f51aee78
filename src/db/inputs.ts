import { Knex } from 'knex';
import { AreaKind } from '../domain/areas';
import { addDays, LocalDate } from '../domain/dates';
import { MetricDef, ReportField, RuleSet } from '../domain/rules/definition';
import { Inputs, MetricValue } from '../domain/rules/engine';
import { arrayBindings } from './knex';

/**
 * The stored metrics a rule set needs, for every area on one date, in a handful of
 * set-based statements (one for all report windows, one per indicator). Areas above
 * communes are assessed on their own aggregated figures: the reports of their whole
 * subtree, their own census population.
 */
export type AreaNode = { id: number; code: string; kind: AreaKind; parent_id: number | null; population: number | null };

/** The areas to classify. Their ancestor closure is the area_tree table, kept by area imports. */
export async function loadAreas(trx: Knex.Transaction): Promise<AreaNode[]> {
  return (await trx('areas').select('id', 'code', 'kind', 'parent_id', 'population').orderBy('id')) as AreaNode[];
}

const FIELD_SQL: Record<ReportField, string> = {
  community_cases: 'r.community_cases',
  quarantine_cases: 'r.quarantine_cases',
  all_cases: '(r.community_cases + r.quarantine_cases)',
  deaths: 'coalesce(r.deaths, 0)',
};

type ReportMetric = Extract<MetricDef, { kind: 'sum' | 'rate_per_100k' | 'days_since_last' }>;
type IndicatorMetric = Extract<MetricDef, { kind: 'indicator' }>;
type IndicatorSumMetric = Extract<MetricDef, { kind: 'indicator_sum' }>;

const missing = (reason: string, detail?: string): MetricValue => (detail ? { missing: reason, detail } : { missing: reason });

export type InputDetail = { value: number | null; missing?: string; date?: string; from_area?: string };

export async function computeInputs(trx: Knex.Transaction, ruleSet: RuleSet, date: LocalDate, areas: AreaNode[]): Promise<Map<number, Inputs>> {
  const out = new Map<number, Inputs>(areas.map((a) => [a.id, {}]));
  const byId = new Map(areas.map((a) => [a.id, a]));
  const entries = Object.entries(ruleSet.metrics);

  // Report windows: one pass over the widest window, a FILTER per metric.
  const reportMetrics = entries.filter((e): e is [string, ReportMetric] => ['sum', 'rate_per_100k', 'days_since_last'].includes(e[1].kind));
  if (reportMetrics.length) {
    const widest = Math.max(...reportMetrics.map(([, m]) => (m.kind === 'days_since_last' ? m.lookback_days : m.window_days)));
    const cols = reportMetrics.map(([, m], i) => {
      if (m.kind === 'days_since_last') {
        const from = addDays(date, -(m.lookback_days - 1));
        return `max(r.date) FILTER (WHERE r.date >= '${from}' AND ${FIELD_SQL[m.of]} > 0)::text AS v${i}, count(*) FILTER (WHERE r.date >= '${from}') AS n${i}`;
      }
      const from = addDays(date, -(m.window_days - 1));
      return `sum(${FIELD_SQL[m.of]}) FILTER (WHERE r.date >= '${from}') AS v${i}, count(*) FILTER (WHERE r.date >= '${from}') AS n${i}`;
    });
    // per area first, then up the tree: a few thousand rows to roll up, not every report
    const rollup = reportMetrics.map(([, m], i) => `${m.kind === 'days_since_last' ? 'max' : 'sum'}(o.v${i}) AS v${i}, sum(o.n${i}) AS n${i}`);
    const res = await trx.raw<{ rows: Record<string, number | string | null>[] }>(
      `WITH o AS (
         SELECT r.area_id, ${cols.join(', ')}
         FROM reports r WHERE r.date BETWEEN ? AND ?
         GROUP BY r.area_id
       )
       SELECT t.ancestor AS area_id, ${rollup.join(', ')}
       FROM o JOIN area_tree t ON t.descendant = o.area_id
       GROUP BY t.ancestor`,
      [addDays(date, -(widest - 1)), date],
    );
    const rows = new Map(res.rows.map((r) => [r.area_id as number, r]));
    for (const a of areas) {
      const row = rows.get(a.id);
      const inputs = out.get(a.id) as Inputs;
      reportMetrics.forEach(([name, m], i) => {
        const n = Number(row?.[`n${i}`] ?? 0);
        if (n === 0) {
          inputs[name] = missing('no_reports', `no report in the last ${m.kind === 'days_since_last' ? m.lookback_days : m.window_days} days`);
          return;
        }
        if (m.kind === 'days_since_last') {
          const last = row?.[`v${i}`] as string | null;
          inputs[name] = last ? { value: Math.round((Date.parse(date) - Date.parse(last)) / 86_400_000) } : { value: m.lookback_days };
          return;
        }
        const sum = Number(row?.[`v${i}`] ?? 0);
        if (m.kind === 'sum') {
          inputs[name] = { value: sum };
          return;
        }
        const pop = a.population;
        inputs[name] = pop ? { value: (sum * 100_000) / pop } : missing('no_population', `${a.code} has no population`);
      });
    }
  }

  // Indicators: the latest value on or before the date, from the area or its nearest ancestor
  // — every indicator the rule set names in one statement.
  const indicators = entries.filter((e): e is [string, IndicatorMetric] => e[1].kind === 'indicator');
  if (indicators.length) {
    const res = await trx.raw<{ rows: { area_id: number; name: string; value: number; date: string; from_area: number; depth: number }[] }>(
      `WITH latest AS (
         SELECT DISTINCT ON (area_id, name) area_id, name, value, date FROM metrics
         WHERE name = ANY(?::text[]) AND date <= ? ORDER BY area_id, name, date DESC
       )
       SELECT DISTINCT ON (t.descendant, l.name) t.descendant AS area_id, l.name, l.value, l.date::text AS date, l.area_id AS from_area, t.depth
       FROM area_tree t JOIN latest l ON l.area_id = t.ancestor
       ORDER BY t.descendant, l.name, t.depth`,
      arrayBindings([[...new Set(indicators.map(([, m]) => m.name))], date]),
    );
    const found = new Map(res.rows.map((r) => [`${r.area_id}|${r.name}`, r]));
    for (const [name, m] of indicators) {
      const oldest = addDays(date, -m.max_age_days);
      for (const a of areas) {
        const r = found.get(`${a.id}|${m.name}`);
        const inputs = out.get(a.id) as Inputs;
        if (!r || (!m.inherit && r.depth > 0)) inputs[name] = missing(`stale_metric:${m.name}`, `no ${m.name} on or before ${date}`);
        else if (r.date < oldest) inputs[name] = missing(`stale_metric:${m.name}`, `latest ${m.name} is from ${r.date}, older than ${m.max_age_days} days`);
        else {
          const via = r.from_area === a.id ? '' : ` from ${byId.get(r.from_area)?.code}`;
          inputs[name] = { value: r.value, ...(via || r.date !== date ? { detail: `${r.date}${via}` } : {}) } as MetricValue;
        }
      }
    }
  }

  // Indicator sums over a window (e.g. cases of unknown source): absent days count as zero.
  for (const [name, m] of entries.filter((e): e is [string, IndicatorSumMetric] => e[1].kind === 'indicator_sum')) {
    const res = await trx.raw<{ rows: { area_id: number; total: number }[] }>(
      `SELECT t.descendant AS area_id, sum(x.value) AS total
       FROM metrics x JOIN area_tree t ON t.ancestor = x.area_id AND ${m.inherit ? 'true' : 't.depth = 0'}
       WHERE x.name = ? AND x.date BETWEEN ? AND ?
       GROUP BY t.descendant`,
      [m.name, addDays(date, -(m.window_days - 1)), date],
    );
    const totals = new Map(res.rows.map((r) => [r.area_id, Number(r.total)]));
    for (const a of areas) (out.get(a.id) as Inputs)[name] = { value: totals.get(a.id) ?? 0 };
  }

  for (const [name, m] of entries) {
    if (m.kind !== 'population') continue;
    for (const a of areas) (out.get(a.id) as Inputs)[name] = a.population ? { value: a.population } : missing('no_population');
  }
  return out;
}
