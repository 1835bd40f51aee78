/**
 * The fact tables' write path (reports, metrics): what a row source hands over (sink.ts),
 * the tables (spec.ts) and the upsert (upsert.ts). The pieces behind the upsert: FactIngest
 * (rows in, keys checked, chunks cut), ChunkWriter (a chunk copied in or diffed),
 * KeyTuples, AreaResolver, Chunk.
 */
export type { Cell } from '../bulk';
export type { EncodedRow, FactSink, RowSource, StagedRow } from './sink';
export { METRICS, REPORTS } from './spec';
export type { FactSpec, UpsertResult } from './spec';
export type { UpsertOptions } from './factIngest';
export { upsertFacts } from './upsert';
