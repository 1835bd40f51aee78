import { connectDatabase, Database } from '../src/db/database';
import { migrateLatest } from '../src/db/migrate';
import { addDays, LocalDate } from '../src/domain/dates';
import { setLogLevel } from '../src/log';
import { activateRuleSet, createFromPreset } from '../src/db/rulesets';
import { Recomputations } from '../src/jobs/recomputations';
import { adminQuery, benchUrl, buildNational, nationalOptions, timed } from './common';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';

/**
 * `npm run bench:storage`: what the stored levels would cost in another shape (issue 19: the
 * backfill's rows cost the server more than its 5× budget on their own). The year's levels of
 * the national bench set, as stored (one row per area and day, its one index), against the
 * same levels as chunks — one row per day, version and CHUNK areas (ids `area_id / CHUNK`),
 * each column an array compressed with lz4 — written by the server alone and read the ways the
 * service reads them. It measured the design before it was built; the service stores the
 * levels so since migration 25 (level_chunks), and this now measures what the rows it replaced
 * would cost (with their one index, `(date, area_id, computed_at DESC)`) and other chunk sizes
 * (BENCH_STORAGE_CHUNK). Reuses the database `npm run bench` keeps with BENCH_KEEP=1 (its
 * levels as they are), else builds the national set and backfills it (a few minutes).
 */
const DB = 'zonerisk_bench_national';
const CHUNK = Number(process.env.BENCH_STORAGE_CHUNK ?? 128);
const COLS = ['level', 'raw_level', 'reason', 'since', 'rule_set_id', 'inputs', 'children', 'pending', 'persistence', 'change'] as const;

async function ensureLevels(db: Database): Promise<void> {
  await migrateLatest(db.knex);
  const n = Number((await db.knex.raw<{ rows: { n: string }[] }>('SELECT count(*) AS n FROM zone_levels')).rows[0]?.n ?? 0);
  if (n > 0) return console.log(`reusing ${n.toLocaleString('en')} stored levels of ${DB}`);
  const o = nationalOptions();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-storage-'));
  try {
    await buildNational(db, o, dir, DB, (name, value) => console.log(`  ${name.padEnd(56)} ${value}`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const { rule_set } = await createFromPreset(db, 'vn-moh-4800-2021');
  await activateRuleSet(db, rule_set.id, '2000-01-01' as LocalDate);
  const r = new Recomputations(db);
  await r.runJob(await r.createJob(addDays(o.end, -(o.days - 1)), o.end, 'bench'));
}

/** The median of `n` runs of `fn`, in ms. */
async function p50(n: number, fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) ms.push((await timed(fn)).ms);
  return ms.sort((a, b) => a - b)[Math.floor(n / 2)] as number;
}

async function main(): Promise<void> {
  setLogLevel('warn');
  const exists = await (async () => {
    try {
      await adminQuery(`CREATE DATABASE ${DB}`);
      return false;
    } catch {
      return true;
    }
  })();
  const db = connectDatabase(benchUrl(DB), 2, false);
  const k = db.knex;
  try {
    if (!exists) console.log(`${DB} created`);
    await ensureLevels(db);
    const span = (await k.raw<{ rows: { a: string; b: string; n: string }[] }>('SELECT min(date)::text AS a, max(date)::text AS b, count(*) AS n FROM zone_levels')).rows[0] as { a: string; b: string; n: string };
    console.log(`levels: ${Number(span.n).toLocaleString('en')} rows, ${span.a} to ${span.b}; chunks of ${CHUNK} areas`);
    // the floor as the main bench takes it: the best of three
    const floorRuns: number[] = [];
    for (let i = 0; i < 3; i++)
      floorRuns.push((await timed(() => k.raw(`SELECT count(*), sum(c) FROM (SELECT sum(community_cases) OVER (PARTITION BY area_id ORDER BY date ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS c FROM reports WHERE date BETWEEN ? AND ?) x`, [span.a, span.b]))).ms);
    const floor = Math.min(...floorRuns);
    console.log(`floor: window-function 7-day sums over the same days' reports ${(floor / 1000).toFixed(2)} s`);

    // the chunks' source: arrays made once, stored uncompressed, so that writing them compresses them
    const agg = COLS.map((c) => `array_agg(${c} ORDER BY area_id) AS ${c}`).join(', ');
    await k.raw('DROP TABLE IF EXISTS bench_chunks_src, bench_chunks, bench_rows');
    await k.raw(`CREATE UNLOGGED TABLE bench_chunks_src AS SELECT date, area_id / ${CHUNK} AS chunk, computed_at, min(job_id) AS job_id, array_agg(area_id ORDER BY area_id) AS area_id, ${agg}
                 FROM zone_levels GROUP BY date, area_id / ${CHUNK}, computed_at ORDER BY date, chunk, computed_at`);
    for (const c of ['area_id', ...COLS]) await k.raw(`ALTER TABLE bench_chunks_src ALTER COLUMN ${c} SET STORAGE EXTERNAL`);
    await k.raw('VACUUM FULL bench_chunks_src');
    await k.raw('CREATE TABLE bench_chunks (LIKE bench_chunks_src)');
    for (const c of ['area_id', ...COLS]) await k.raw(`ALTER TABLE bench_chunks ALTER COLUMN ${c} SET STORAGE EXTENDED, ALTER COLUMN ${c} SET COMPRESSION lz4`);
    await k.raw('CREATE UNIQUE INDEX ON bench_chunks (date, chunk, computed_at DESC)');
    // the rows as zone_levels stored them before migration 25, with their one index
    await k.raw('CREATE TABLE bench_rows AS SELECT area_id, date, level, raw_level, reason, since, rule_set_id, inputs, children, pending, persistence, computed_at, job_id, change FROM zone_levels WITH NO DATA');
    await k.raw('CREATE UNIQUE INDEX ON bench_rows (date, area_id, computed_at DESC)');

    await k.raw('CHECKPOINT');
    const rowsMs = (await timed(() => k.raw('INSERT INTO bench_rows SELECT area_id, date, level, raw_level, reason, since, rule_set_id, inputs, children, pending, persistence, computed_at, job_id, change FROM zone_levels'))).ms;
    await k.raw('CHECKPOINT');
    const chunksMs = (await timed(() => k.raw('INSERT INTO bench_chunks SELECT * FROM bench_chunks_src'))).ms;
    const size = (await k.raw<{ rows: { r: string; c: string; n: string }[] }>(`SELECT pg_size_pretty(pg_total_relation_size('bench_rows')) AS r, pg_size_pretty(pg_total_relation_size('bench_chunks')) AS c, (SELECT count(*) FROM bench_chunks) AS n`)).rows[0] as { r: string; c: string; n: string };
    await k.raw('ANALYZE bench_rows, bench_chunks'); // fresh tables: the reads below are planned from their statistics
    const line = (name: string, value: string) => console.log(`${name.padEnd(58)} ${value}`);
    line('storage: the levels written, one row per area and day', `${(rowsMs / 1000).toFixed(1)} s = ${(rowsMs / floor).toFixed(1)}× the floor, ${size.r}`);
    line(`storage: the same levels as chunks of ${CHUNK} areas`, `${(chunksMs / 1000).toFixed(1)} s = ${(chunksMs / floor).toFixed(1)}× the floor, ${size.c} in ${Number(size.n).toLocaleString('en')} rows`);

    // the reads, each as the service would ask: by day and area for rows (their index), by day and chunk for chunks
    const view = `(SELECT u.area_id, d.date, d.computed_at, ${COLS.map((c) => `u.${c}`).join(', ')} FROM bench_chunks d
                   CROSS JOIN LATERAL unnest(d.area_id, ${COLS.map((c) => `d.${c}`).join(', ')}) AS u(area_id, ${COLS.join(', ')})`;
    const chunkOf = (where: string) => `${view} WHERE ${where})`;
    // an area of the last day, and 150 areas of the last day from it on (a district's worth)
    const ids = (await k.raw<{ rows: { id: number }[] }>(`SELECT area_id AS id FROM zone_levels WHERE date = ? ORDER BY area_id OFFSET 500 LIMIT 150`, [span.b])).rows.map((r) => Number(r.id));
    const someArea = ids[0] as number;
    const lo = someArea;
    const hi = ids[ids.length - 1] as number;
    const from30 = addDays(span.b as LocalDate, -29);
    const from91 = addDays(span.b as LocalDate, -90);
    const reads: [string, string, unknown[], string, unknown[]][] = [
      [
        'one area on a day',
        `SELECT * FROM bench_rows WHERE date = ?::date AND area_id = ? ORDER BY computed_at DESC LIMIT 1`,
        [span.b, someArea],
        `SELECT * FROM ${chunkOf('d.date = ?::date AND d.chunk = ? / ' + CHUNK)} c WHERE area_id = ? ORDER BY computed_at DESC LIMIT 1`,
        [span.b, someArea, someArea],
      ],
      [
        'one area, 30 days',
        `SELECT DISTINCT ON (z.date) z.* FROM generate_series(?::date, ?::date, '1 day') g(d) JOIN bench_rows z ON z.date = g.d::date AND z.area_id = ? ORDER BY z.date, z.computed_at DESC`,
        [from30, span.b, someArea],
        `SELECT DISTINCT ON (date) * FROM ${chunkOf('d.date BETWEEN ?::date AND ?::date AND d.chunk = ? / ' + CHUNK)} c WHERE area_id = ? ORDER BY date, computed_at DESC`,
        [from30, span.b, someArea, someArea],
      ],
      [
        'every area on a day',
        `SELECT count(*) FROM (SELECT DISTINCT ON (area_id) * FROM bench_rows WHERE date = ?::date ORDER BY area_id, computed_at DESC) x`,
        [span.b],
        `SELECT count(*) FROM (SELECT DISTINCT ON (area_id) * FROM ${chunkOf('d.date = ?::date')} c ORDER BY area_id, computed_at DESC) x`,
        [span.b],
      ],
      [
        '150 areas, 91 days',
        // as db/levels.ts reads a subtree: its areas materialised, day × area into the index
        `WITH ar AS MATERIALIZED (SELECT id FROM areas WHERE id BETWEEN ? AND ?)
         SELECT count(*) FROM (SELECT DISTINCT ON (g.d, z.area_id) z.* FROM generate_series(?::date, ?::date, interval '1 day') g(d) CROSS JOIN ar
           JOIN bench_rows z ON z.date = g.d::date AND z.area_id = ar.id ORDER BY g.d, z.area_id, z.computed_at DESC) x`,
        [lo, hi, from91, span.b],
        `SELECT count(*) FROM (SELECT DISTINCT ON (date, area_id) * FROM ${chunkOf(`d.date BETWEEN ?::date AND ?::date AND d.chunk BETWEEN ? / ${CHUNK} AND ? / ${CHUNK}`)} c
           WHERE area_id BETWEEN ? AND ? ORDER BY date, area_id, computed_at DESC) x`,
        [from91, span.b, lo, hi, lo, hi],
      ],
    ];
    for (const [name, rowsSql, rowsArgs, chunksSql, chunksArgs] of reads) {
      const a = await p50(21, () => k.raw(rowsSql, rowsArgs as never[]));
      const b = await p50(21, () => k.raw(chunksSql, chunksArgs as never[]));
      line(`storage: read ${name}`, `rows p50 ${a.toFixed(2)} ms, chunks p50 ${b.toFixed(2)} ms = ${(b / a).toFixed(2)}×`);
    }
  } finally {
    await k.raw('DROP TABLE IF EXISTS bench_chunks_src, bench_chunks, bench_rows').catch(() => undefined);
    await db.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
