import { Knex } from 'knex';
import { from as copyFrom } from 'pg-copy-streams';
import { Database } from './database';
import { arrayBindings, rawClient } from './knex';
import { DetailCollector } from '../errors';
import { log } from '../log';
import type { LocalDate } from '../domain/dates';

/**
 * Daily facts per area (reports, metrics): staged in bulk, checked as a set, then upserted
 * in one statement that keeps superseded values as revisions. Sending the same row again
 * changes nothing; a changed row bumps its revision.
 */
type PgType = 'int' | 'text' | 'date' | 'float8';
type Column = { name: string; type: PgType };
export type Cell = string | number | null;

export type FactSpec = {
  table: string;
  revisions: string;
  /** Key columns besides area_id, in primary-key order. */
  keys: Column[];
  values: Column[];
  /** Field name of each key column in client input (error paths). */
  label: string;
};

export type UpsertResult = { inserted: number; updated: number; unchanged: number; earliest_changed_date: LocalDate | null };

/** Staged row: the area code, then the key cells, then the value cells. */
export type StagedRow = { idx: number; area: string; cells: Cell[] };

const UNNEST_BATCH = 5000;

function stageColumns(spec: FactSpec): Column[] {
  return [{ name: 'idx', type: 'int' }, { name: 'area_code', type: 'text' }, ...spec.keys, ...spec.values];
}

async function createStage(trx: Knex.Transaction, spec: FactSpec): Promise<string> {
  const name = `stage_${spec.table}`;
  const cols = stageColumns(spec).map((c) => `${c.name} ${c.type}`);
  await trx.raw(`CREATE TEMP TABLE ${name} (${cols.join(', ')}) ON COMMIT DROP`);
  return name;
}

async function stageWithInsert(trx: Knex.Transaction, spec: FactSpec, stage: string, rows: StagedRow[]): Promise<void> {
  const cols = stageColumns(spec);
  for (let start = 0; start < rows.length; start += UNNEST_BATCH) {
    const batch = rows.slice(start, start + UNNEST_BATCH);
    const arrays: Cell[][] = cols.map(() => []);
    for (const r of batch) {
      (arrays[0] as Cell[]).push(r.idx);
      (arrays[1] as Cell[]).push(r.area);
      r.cells.forEach((c, i) => (arrays[i + 2] as Cell[]).push(c));
    }
    const casts = cols.map((c) => `?::${c.type}[]`).join(', ');
    await trx.raw(`INSERT INTO ${stage} SELECT * FROM unnest(${casts})`, arrayBindings(arrays));
  }
}

function copyText(cell: Cell): string {
  if (cell === null) return '\\N';
  if (typeof cell === 'number') return String(cell);
  return cell.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** COPY FROM STDIN: the fastest way into PostgreSQL; batches arrive from a stream. */
async function stageWithCopy(trx: Knex.Transaction, stage: string, batches: AsyncIterable<StagedRow[]>): Promise<void> {
  const client = await rawClient(trx);
  const stream = client.query(copyFrom(`COPY ${stage} FROM STDIN`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  try {
    for await (const batch of batches) {
      let chunk = '';
      for (const r of batch) chunk += `${r.idx}\t${copyText(r.area)}\t${r.cells.map(copyText).join('\t')}\n`;
      if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', resolve));
    }
  } catch (e) {
    // Abort the COPY so that the connection is usable for the rollback.
    stream.destroy(e as Error);
    await done.catch(() => undefined);
    throw e;
  }
  stream.end();
  await done;
}

async function checkStage(trx: Knex.Transaction, spec: FactSpec, stage: string, pathFor: (idx: number, field: string) => string): Promise<void> {
  const errors = new DetailCollector();
  const unknown = await trx.raw<{ rows: { idx: number; area_code: string }[] }>(
    `SELECT min(idx) AS idx, area_code FROM ${stage} s
     WHERE NOT EXISTS (SELECT 1 FROM areas a WHERE a.code = s.area_code)
     GROUP BY area_code ORDER BY 1 LIMIT 50`,
  );
  for (const r of unknown.rows) errors.add(pathFor(r.idx, 'area'), `unknown area code ${r.area_code}`);
  errors.throwIfAny((n) => `${n} unknown area code(s)`, 'unknown_area');

  const keyList = spec.keys.map((k) => k.name).join(', ');
  const dupes = await trx.raw<{ rows: { first: number; second: number; area_code: string }[] }>(
    `SELECT min(idx) AS first, max(idx) AS second, area_code FROM ${stage}
     GROUP BY area_code, ${keyList} HAVING count(*) > 1 ORDER BY 1 LIMIT 50`,
  );
  for (const r of dupes.rows) {
    errors.add(pathFor(r.second, spec.label), `the same ${spec.label} for area ${r.area_code} appears twice (also at ${pathFor(r.first, spec.label)})`);
  }
  errors.throwIfAny((n) => `${n} duplicate row(s) in one batch`, 'duplicate_rows');
}

async function applyStage(trx: Knex.Transaction, spec: FactSpec, stage: string): Promise<UpsertResult & { staged: number }> {
  const keys = spec.keys.map((k) => k.name);
  const vals = spec.values.map((v) => v.name);
  const keyJoin = (a: string, b: string) => ['area_id', ...keys].map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
  const list = (prefix: string, cols: string[]) => cols.map((c) => `${prefix}${c}`).join(', ');
  const sql = `
    WITH s AS (
      SELECT a.id AS area_id, ${list('st.', [...keys, ...vals])}
      FROM ${stage} st JOIN areas a ON a.code = st.area_code
    ),
    changed AS (
      SELECT s.*, (t.area_id IS NOT NULL) AS existed
      FROM s LEFT JOIN ${spec.table} t ON ${keyJoin('t', 's')}
      WHERE t.area_id IS NULL OR ROW(${list('t.', vals)}) IS DISTINCT FROM ROW(${list('s.', vals)})
    ),
    archived AS (
      INSERT INTO ${spec.revisions} (area_id, ${list('', keys)}, revision, ${list('', vals)}, recorded_at)
      SELECT t.area_id, ${list('t.', keys)}, t.revision, ${list('t.', vals)}, t.recorded_at
      FROM ${spec.table} t JOIN changed c ON c.existed AND ${keyJoin('t', 'c')}
    ),
    written AS (
      INSERT INTO ${spec.table} (area_id, ${list('', keys)}, ${list('', vals)})
      SELECT area_id, ${list('', keys)}, ${list('', vals)} FROM changed
      ON CONFLICT (area_id, ${list('', keys)}) DO UPDATE SET
        ${vals.map((v) => `${v} = EXCLUDED.${v}`).join(', ')},
        revision = ${spec.table}.revision + 1,
        recorded_at = now()
      RETURNING (xmax = 0) AS inserted, date
    )
    SELECT count(*) FILTER (WHERE inserted) AS inserted,
           count(*) FILTER (WHERE NOT inserted) AS updated,
           min(date)::text AS earliest,
           (SELECT count(*) FROM ${stage}) AS staged
    FROM written`;
  const res = await trx.raw<{ rows: { inserted: number; updated: number; earliest: string | null; staged: number }[] }>(sql);
  const row = res.rows[0] ?? { inserted: 0, updated: 0, earliest: null, staged: 0 };
  return {
    inserted: row.inserted,
    updated: row.updated,
    unchanged: row.staged - row.inserted - row.updated,
    earliest_changed_date: row.earliest as LocalDate | null,
    staged: row.staged,
  };
}

export type UpsertOptions = {
  pathFor: (idx: number, field: string) => string;
  /** Runs inside the transaction after staging, before the write (scope checks, audit). */
  beforeWrite?: (trx: Knex.Transaction, stage: string) => Promise<void>;
};

/** All or nothing: one transaction around staging, checks and the upsert. */
export async function upsertFacts(
  db: Database,
  spec: FactSpec,
  batches: AsyncIterable<StagedRow[]> | StagedRow[][],
  opts: UpsertOptions,
): Promise<UpsertResult> {
  return db.knex.transaction(async (trx) => {
    const t0 = Date.now();
    const stage = await createStage(trx, spec);
    if (db.supportsCopy && !Array.isArray(batches)) {
      await stageWithCopy(trx, stage, batches);
    } else {
      for await (const batch of batches) await stageWithInsert(trx, spec, stage, batch);
    }
    const t1 = Date.now();
    await checkStage(trx, spec, stage, opts.pathFor);
    if (opts.beforeWrite) await opts.beforeWrite(trx, stage);
    const t2 = Date.now();
    const { staged, ...result } = await applyStage(trx, spec, stage);
    log.debug('facts upserted', { table: spec.table, staged, stage_ms: t1 - t0, check_ms: t2 - t1, apply_ms: Date.now() - t2 });
    return result;
  });
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
