import { dayNumber, fromDayNumber, LocalDate } from './dates';
import { IndicatorRow, InputSeries, ReportColumn, ReportColumns, SeriesArea } from './inputs';
import { SeriesLineage } from './lineage';
import { RuleSet } from './rules/definition';

/**
 * The facts a rule set needs, as the database returns them: one compact text per query
 * ("a,b,c;a,b,c…", see db/inputs.ts), and their parsing into the input series. Pure and
 * free of any database module, so that it can run in a worker thread (the rule-set
 * preview) as well as in the process that loaded the texts (recomputation).
 */
export type FactTexts = {
  from: LocalDate;
  to: LocalDate;
  /**
   * Reports from `from` on, `n` rows in all, in texts of a few weeks each (a year of a
   * country's reports is ~60 MB of text: in pieces, no single one holds a thread for long):
   * area_id, day offset from `from`, then the `columns` the rule set reads (the others are 0).
   */
  reports: { from: LocalDate; n: number; columns: readonly ReportColumn[]; texts: string[] } | null;
  /** Indicator rows: area_id, name index (1-based in `names`), day offset from `from`, value. */
  indicators: { from: LocalDate; names: string[]; text: string | null } | null;
};

export function reportColumns(length: number): ReportColumns {
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

export function parseReports(r: NonNullable<FactTexts['reports']>): ReportColumns {
  const out = reportColumns(r.n);
  const base = dayNumber(r.from);
  const into = r.columns.map((c) => out[c]);
  let k = 0;
  for (const text of r.texts) {
    eachIntRow(text, 2 + into.length, (row) => {
      out.area_id[k] = row[0] as number;
      out.day[k] = base + (row[1] as number);
      for (let c = 0; c < into.length; c++) (into[c] as Int32Array)[k] = row[2 + c] as number;
      k++;
    });
  }
  return out;
}

export function parseIndicators(r: NonNullable<FactTexts['indicators']>): IndicatorRow[] {
  if (!r.text) return [];
  const base = dayNumber(r.from);
  // rows share few days: each day's date is made once
  const dates = new Map<string, LocalDate>();
  return r.text.split(';').map((row) => {
    const [area, name, day, value] = row.split(',') as [string, string, string, string];
    let date = dates.get(day);
    if (date === undefined) dates.set(day, (date = fromDayNumber(base + Number(day))));
    return { area_id: Number(area), name: r.names[Number(name) - 1] as string, date, value: Number(value) };
  });
}

/** The input series of days [from, to] from the loaded texts. */
export function inputSeriesOf(ruleSet: RuleSet, areas: SeriesArea[], facts: FactTexts, lineage?: SeriesLineage): InputSeries {
  const reports = facts.reports ? parseReports(facts.reports) : reportColumns(0);
  const indicators = facts.indicators ? parseIndicators(facts.indicators) : [];
  return new InputSeries(ruleSet, areas, facts.from, facts.to, reports, indicators, lineage);
}
