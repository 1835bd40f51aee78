/**
 * Spreadsheets as provinces keep them (XLSX, Vietnamese-locale Excel CSV) → the canonical
 * CSV the ingest reads. Use: `sniffTable(first, contentType)`; if `isCanonicalCsv(first,
 * kind)` hand the bytes to the ingest untouched, else feed `normaliseTable(...)`'s output.
 */
export { sniffTable, isCanonicalCsv, looksWindows1258, XLSX_CONTENT_TYPE } from './dialect';
export type { TableDialect } from './dialect';
export { mapHeader, foldHeader, columnMapSchema, parseColumnMapText, CANONICAL_COLUMNS, KIND_COLUMNS } from './headers';
export type { CanonicalColumn, ColumnMap, TableKind } from './headers';
export { normaliseDate, excelSerialDate, normaliseNumber, csvField } from './cells';
export { normaliseTable } from './normalise';
export type { NormaliseOptions, RowNames } from './normalise';
export { openXlsx, XLSX_LIMITS } from './xlsx';
export type { XlsxLimits, XlsxRow, XlsxOptions } from './xlsx';
