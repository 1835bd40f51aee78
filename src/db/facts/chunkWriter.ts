import { Knex } from 'knex';
import { createStage, writeRows } from '../bulk';
import { arrayBindings } from '../knex';
import { log } from '../../log';
import { LocalDate } from '../../domain/dates';
import { Chunk } from './chunk';
import { FactSpec, UpsertResult } from './spec';

/**
 * Writes chunks into one fact table inside the ingest's transaction. A chunk none of whose
 * keys can exist yet (an index probe says so) goes straight into the table — the bulk-load
 * case. Otherwise it is staged and one statement inserts the new rows, archives and
 * overwrites the changed ones (revision + 1) and leaves the unchanged ones alone: sending
 * the same rows again writes nothing. Every row written carries the import that wrote it
 * (`import_id`, the column's default from the transaction's setting: see migration 15), and an
 * archived version keeps its own.
 */
export class ChunkWriter {
  private stage: string | null = null;

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly spec: FactSpec,
  ) {}

  /** Could any row of the chunk exist already? (An index range probe, no rows read.) */
  private async mayOverlap(chunk: Chunk): Promise<boolean> {
    const res = await this.trx.raw<{ rows: { found: boolean }[] }>(
      `SELECT EXISTS (SELECT 1 FROM ${this.spec.table} WHERE date BETWEEN ? AND ? AND area_id = ANY(?::int[])) AS found`,
      arrayBindings([chunk.min, chunk.max, [...chunk.ids]]),
    );
    return res.rows[0]?.found ?? true;
  }

  /**
   * The general case, all in SQL over the staged chunk: new rows are inserted; changed
   * rows have their current version archived and are overwritten with revision + 1;
   * unchanged rows are left alone. (Every CTE sees the table as it was before the statement.)
   */
  private async diffRows(chunk: Chunk, result: UpsertResult): Promise<void> {
    const { spec, trx } = this;
    const keys = spec.keys.map((k) => k.name);
    const vals = spec.values.map((v) => v.name);
    if (!this.stage) {
      this.stage = `stage_${spec.table}`;
      await createStage(trx, this.stage, chunk.rows.columns);
    } else {
      await trx.raw(`TRUNCATE ${this.stage}`);
    }
    await writeRows(trx, this.stage, chunk.rows);
    await trx.raw(`ANALYZE ${this.stage}`);
    const on = ['area_id', ...keys].map((k) => `t.${k} = s.${k}`).join(' AND ');
    const list = (prefix: string, cols: string[]) => cols.map((c) => `${prefix}${c}`).join(', ');
    const res = await trx.raw<{ rows: { inserted: number; updated: number; earliest: string | null }[] }>(`
      WITH todo AS MATERIALIZED (
        SELECT s.*, t.area_id IS NOT NULL AS existed
        FROM ${this.stage} s LEFT JOIN ${spec.table} t ON ${on} AND t.date BETWEEN ?::date AND ?::date
        WHERE t.area_id IS NULL OR ROW(${list('t.', vals)}) IS DISTINCT FROM ROW(${list('s.', vals)})
      ),
      archived AS (
        INSERT INTO ${spec.revisions} (area_id, ${keys.join(', ')}, revision, ${vals.join(', ')}, recorded_at, import_id)
        SELECT t.area_id, ${list('t.', keys)}, t.revision, ${list('t.', vals)}, t.recorded_at, t.import_id
        FROM ${spec.table} t JOIN todo s ON s.existed AND ${on}
      ),
      updated AS (
        UPDATE ${spec.table} t SET ${vals.map((v) => `${v} = s.${v}`).join(', ')}, revision = t.revision + 1, recorded_at = now(), import_id = DEFAULT
        FROM todo s WHERE s.existed AND ${on}
        RETURNING t.date
      ),
      inserted AS (
        INSERT INTO ${spec.table} (area_id, ${keys.join(', ')}, ${vals.join(', ')})
        SELECT s.area_id, ${list('s.', keys)}, ${list('s.', vals)} FROM todo s WHERE NOT s.existed
        RETURNING date
      )
      SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM updated) AS updated,
             (SELECT min(date) FROM (SELECT date FROM inserted UNION ALL SELECT date FROM updated) d)::text AS earliest`,
      [chunk.min, chunk.max],
    );
    const r = res.rows[0] ?? { inserted: 0, updated: 0, earliest: null };
    result.inserted += r.inserted;
    result.updated += r.updated;
    result.unchanged += chunk.size - r.inserted - r.updated;
    noteEarliest(result, r.earliest as LocalDate | null);
  }

  /** Writes one chunk: straight into the table when none of its keys can exist yet. */
  async apply(chunk: Chunk, result: UpsertResult): Promise<void> {
    const started = Date.now();
    if (await this.mayOverlap(chunk)) {
      await this.diffRows(chunk, result);
      log.debug('chunk diffed', { table: this.spec.table, rows: chunk.size, ms: Date.now() - started });
      return;
    }
    await writeRows(this.trx, this.spec.table, chunk.rows);
    log.debug('chunk copied', { table: this.spec.table, rows: chunk.size, ms: Date.now() - started });
    result.inserted += chunk.size;
    noteEarliest(result, chunk.min);
  }
}

function noteEarliest(result: UpsertResult, date: LocalDate | null): void {
  if (date !== null && (result.earliest_changed_date === null || date < result.earliest_changed_date)) result.earliest_changed_date = date;
}
