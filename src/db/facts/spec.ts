import { BulkColumns, columns } from '../bulk';
import type { BatchRef } from '../imports';
import type { LocalDate } from '../../domain/dates';

/**
 * The fact tables (reports, metrics): their key and value columns, their revisions table,
 * and what an upsert answers.
 */
export type FactSpec = {
  table: string;
  revisions: string;
  /** Key columns besides area_id, in primary-key order; one of them is `date`. */
  keys: BulkColumns;
  values: BulkColumns;
  /** How the key is named in error messages. */
  label: string;
  /** What its rows are, in Vietnamese (error messages: Vietnamese first). */
  rowsVi: string;
};

export type UpsertResult = {
  inserted: number;
  updated: number;
  unchanged: number;
  earliest_changed_date: LocalDate | null;
  /** The import's batch, when the caller gave its file (db/imports.ts). */
  import?: BatchRef;
};

/** The columns a fact row is written with: area_id, the keys, the values. */
export function factColumns(spec: FactSpec): BulkColumns {
  return [...columns('area_id int'), ...spec.keys, ...spec.values];
}

export const REPORTS: FactSpec = {
  table: 'reports',
  revisions: 'report_revisions',
  keys: columns('date date'),
  values: columns('community_cases int, quarantine_cases int, deaths int, source text'),
  label: 'date',
  rowsVi: 'báo cáo ca mắc',
};

export const METRICS: FactSpec = {
  table: 'metrics',
  revisions: 'metric_revisions',
  keys: columns('name text, date date'),
  values: columns('value float8'),
  label: 'name and date',
  rowsVi: 'chỉ số',
};
