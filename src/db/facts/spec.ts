import type { BulkColumn, BulkColumns } from '../bulk';
import type { LocalDate } from '../../domain/dates';

/**
 * The fact tables (reports, metrics): their key and value columns, their revisions table,
 * and what an upsert answers.
 */
export type FactSpec = {
  table: string;
  revisions: string;
  /** Key columns besides area_id, in primary-key order; one of them is `date`. */
  keys: BulkColumn[];
  values: BulkColumn[];
  /** How the key is named in error messages. */
  label: string;
};

export type UpsertResult = { inserted: number; updated: number; unchanged: number; earliest_changed_date: LocalDate | null };

/** The columns a fact row is written with: area_id, the keys, the values. */
export function factColumns(spec: FactSpec): BulkColumns {
  return [{ name: 'area_id', type: 'int' }, ...spec.keys, ...spec.values];
}

export const REPORTS: FactSpec = {
  table: 'reports',
  revisions: 'report_revisions',
  keys: [{ name: 'date', type: 'date' }],
  values: [
    { name: 'community_cases', type: 'int' },
    { name: 'quarantine_cases', type: 'int' },
    { name: 'deaths', type: 'int' },
    { name: 'source', type: 'text' },
  ],
  label: 'date',
};

export const METRICS: FactSpec = {
  table: 'metrics',
  revisions: 'metric_revisions',
  keys: [
    { name: 'name', type: 'text' },
    { name: 'date', type: 'date' },
  ],
  values: [{ name: 'value', type: 'float8' }],
  label: 'name and date',
};
