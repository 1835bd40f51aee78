import pg from 'pg';
import { connectDatabase } from '../../src/db/database';
import { ByteSink } from '../../src/db/copy';
import { BulkColumns, BulkRow, BulkRows, bulkRows, Cell, columns, createStage, feedRows, writeRows } from '../../src/db/bulk';

/**
 * The bulk writer stores every column type the same way by COPY binary and by
 * INSERT … unnest (on a real server both are tried), in a transaction or on a connection
 * of its own.
 */
const url = process.env.ZONERISK_TEST_DATABASE_URL as string;
const db = connectDatabase(url, 2, process.env.ZONERISK_TEST_EMBEDDED === '1');
afterAll(() => db.close());

const COLUMNS: BulkColumns = columns('i int, b bigint, f float8, t text, d date, j jsonb');

const ROWS: Cell[][] = [
  [1, 2 ** 40 + 7, 0.1, 'plain', '2021-12-31', '[1,"stale",[2.5,3,"P1"]]'],
  [-2_147_483_648, -(2 ** 33) - 1, -1e300, 'tab\there\nnew line \\ back “Đồng Nai” 🙂', '1900-01-01', '{"a":{"b":null}}'],
  [null, null, null, null, null, null],
  [0, 0, 0, '', '2100-02-28', 'null'],
];

type Stored = { i: number | null; b: string | null; f: number | null; t: string | null; d: string | null; j: unknown };

function expected(): Stored[] {
  return ROWS.map(([i, b, f, t, d, j]) => ({
    i: i as number | null,
    b: b === null ? null : String(b),
    f: f as number | null,
    t: t as string | null,
    d: d as string | null,
    j: j === null ? null : JSON.parse(j as string),
  }));
}

const modes = db.supportsCopy ? [true, false] : [false];

describe.each(modes)('bulk rows (COPY binary: %s)', (copies) => {
  test('every column type round-trips through a staging table, in order', async () => {
    const rows = new BulkRows(COLUMNS, copies, 2);
    for (const r of ROWS) rows.add(r);
    expect(rows.size).toBe(ROWS.length);
    const stored = await db.write(async (trx) => {
      await createStage(trx, 'stage_bulk', COLUMNS);
      await trx.raw('ALTER TABLE stage_bulk ADD COLUMN n serial');
      await writeRows(trx, 'stage_bulk', rows);
      return (await trx.raw<{ rows: Stored[] }>('SELECT i, b::text AS b, f, t, d::text AS d, j FROM stage_bulk ORDER BY n')).rows;
    });
    expect(stored).toEqual(expected());
  });

  test('more rows than one INSERT batch, and nothing for none', async () => {
    const many = new BulkRows([{ name: 'i', type: 'int' }], copies);
    for (let i = 0; i < 12_345; i++) many.add([i]);
    const none = new BulkRows([{ name: 'i', type: 'int' }], copies);
    const r = await db.write(async (trx) => {
      await createStage(trx, 'stage_many', many.columns);
      await writeRows(trx, 'stage_many', none);
      await writeRows(trx, 'stage_many', many);
      return (await trx.raw<{ rows: { n: number; s: number }[] }>('SELECT count(*)::int AS n, sum(i)::float8 AS s FROM stage_many')).rows[0];
    });
    expect(r).toEqual({ n: 12_345, s: (12_344 * 12_345) / 2 });
  });

  test('on a connection outside a transaction', async () => {
    if (db.mode === 'embedded') return; // one connection: the pool's
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('CREATE TEMP TABLE bulk_session (i int, t text)');
      const rows = new BulkRows([{ name: 'i', type: 'int' }, { name: 't', type: 'text' }], copies);
      rows.add([7, 'seven']);
      rows.add([8, null]);
      await writeRows(client, 'bulk_session', rows);
      expect((await client.query('SELECT i, t FROM bulk_session ORDER BY i')).rows).toEqual([{ i: 7, t: 'seven' }, { i: 8, t: null }]);
    } finally {
      await client.end();
    }
  });
});

test('a row that writes itself is written as its tuple on PostgreSQL, else as its cells', async () => {
  const rows = bulkRows(db, [{ name: 'i', type: 'int' }, { name: 'd', type: 'date' }]);
  const row: BulkRow = {
    write(out) {
      out.ensure(32);
      out.fields(2);
      out.int4(42);
      out.date(0); // 1970-01-01
    },
    cells: () => [42, '1970-01-01'],
  };
  rows.addRow(row);
  rows.add([43, '1970-01-02']);
  expect(rows.size).toBe(2);
  const stored = await db.write(async (trx) => {
    await createStage(trx, 'stage_rows', rows.columns);
    await writeRows(trx, 'stage_rows', rows);
    return (await trx.raw<{ rows: { i: number; d: string }[] }>('SELECT i, d::text AS d FROM stage_rows ORDER BY i')).rows;
  });
  expect(stored).toEqual([{ i: 42, d: '1970-01-01' }, { i: 43, d: '1970-01-02' }]);
});

/** A row's binary tuple, as BulkRows makes it. */
function writeCells(out: ByteSink, cols: BulkColumns, cells: Cell[]): void {
  const rows = new BulkRows(cols, true, 1);
  rows.add(cells);
  const t = rows.tuples() as Buffer;
  out.ensure(t.length);
  out.bytes(t, 0, t.length);
}

/** A row of COLUMNS that writes itself (as the level writer's rows do). */
const selfWriting = (cells: Cell[]): BulkRow => ({ write: (out) => writeCells(out, COLUMNS, cells), cells: () => cells });

(db.supportsCopy ? describe : describe.skip)('rows fed to a COPY as they are made (feedRows)', () => {
  const client = new pg.Client({ connectionString: url });
  beforeAll(async () => {
    await client.connect();
    await client.query('CREATE TABLE IF NOT EXISTS feed_bulk (i int, b bigint, f float8, t text, d date, j jsonb, CHECK (i IS NULL OR i <> -99))');
  });
  beforeEach(() => client.query('TRUNCATE feed_bulk'));
  afterAll(async () => {
    await client.query('DROP TABLE IF EXISTS feed_bulk');
    await client.end();
  });
  const sorted = (rows: Stored[]) => rows.map((r) => JSON.stringify(r)).sort();
  const stored = async () => sorted((await client.query<Stored>('SELECT i, b::text AS b, f, t, d::text AS d, j FROM feed_bulk')).rows);

  test('many pieces, sent as they are made, stored whole and in order', async () => {
    const feed = feedRows(client, 'feed_bulk', COLUMNS);
    await feed.ready;
    // 20,000 rows: several pieces (FEED_BYTES) handed over before the end
    for (let k = 0; k < 20_000; k++) feed.addRow(selfWriting([k, k, k / 2, `row ${k}`, '2021-01-01', `[${k}]`]));
    expect(feed.size).toBe(20_000);
    await feed.end();
    const res = await client.query<{ n: number; s: string }>('SELECT count(*)::int AS n, sum(i)::text AS s FROM feed_bulk');
    expect(res.rows[0]).toEqual({ n: 20_000, s: String((19_999 * 20_000) / 2) });
  });

  test('taken back: nothing stored, and the connection goes on', async () => {
    const feed = feedRows(client, 'feed_bulk', COLUMNS);
    await feed.ready;
    for (let k = 0; k < 5_000; k++) feed.addRow(selfWriting([k, k, 0, 'x', '2021-01-01', null]));
    await feed.abort(new Error('the day could not be computed'));
    expect(await stored()).toEqual([]);
    const again = feedRows(client, 'feed_bulk', COLUMNS);
    for (const r of ROWS) again.addRow(selfWriting(r));
    await again.end();
    expect(await stored()).toEqual(sorted(expected()));
  });

  test('a COPY the server refuses at once: ready settles, end rejects, the connection goes on', async () => {
    const feed = feedRows(client, 'no_such_table', COLUMNS);
    await feed.ready;
    feed.addRow(selfWriting(ROWS[0] as Cell[]));
    await expect(feed.end()).rejects.toThrow(/no_such_table/);
    expect(await stored()).toEqual([]);
    // taken back after it failed: nothing to wait for
    const gone = feedRows(client, 'no_such_table', COLUMNS);
    await gone.ready;
    await gone.abort(new Error('the day could not be computed'));
    expect(await stored()).toEqual([]);
  });

  test('failed while the server is behind: no error escapes from what was still queued, nothing stored, the connection goes on', async () => {
    // a server far slower than the feed (a trigger sleeps on each row): megabytes wait for
    // the socket when the COPY is cancelled from another connection
    await client.query(`CREATE TABLE IF NOT EXISTS feed_slow (i int, t text);
      CREATE OR REPLACE FUNCTION pg_temp.feed_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.002); RETURN NEW; END $$;
      DROP TRIGGER IF EXISTS feed_slow ON feed_slow;
      CREATE TRIGGER feed_slow BEFORE INSERT ON feed_slow FOR EACH ROW EXECUTE FUNCTION pg_temp.feed_slow()`);
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    const slowColumns = columns('i int, t text');
    const escaped: unknown[] = [];
    const onUncaught = (e: unknown) => escaped.push(e);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const feed = feedRows(client, 'feed_slow', slowColumns);
      await feed.ready;
      for (let k = 0; k < 400_000; k++) {
        const cells: Cell[] = [k, 'x'.repeat(40)];
        feed.addRow({ write: (out) => writeCells(out, slowColumns, cells), cells: () => cells });
      }
      const ended = feed.end();
      ended.catch(() => undefined); // awaited below
      await new Promise((r) => setTimeout(r, 200));
      await other.query('SELECT pg_cancel_backend($1)', [pid]);
      await expect(ended).rejects.toThrow(/cancel/);
      await feed.abort(new Error('after the failure'));
      await new Promise((r) => setTimeout(r, 1_000)); // the socket drains what was queued
      expect(escaped).toEqual([]);
      expect((await client.query<{ n: number }>('SELECT count(*)::int AS n FROM feed_slow')).rows).toEqual([{ n: 0 }]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await other.end();
      await client.query('DROP TABLE IF EXISTS feed_slow');
    }
  });

  test('a row the table refuses: the statement fails whole, and the connection goes on', async () => {
    const feed = feedRows(client, 'feed_bulk', COLUMNS);
    for (let k = 0; k < 3_000; k++) feed.addRow(selfWriting([k === 2_500 ? -99 : k, 0, 0, 'x', '2021-01-01', null]));
    await expect(feed.end()).rejects.toThrow(/check constraint/);
    expect(await stored()).toEqual([]);
  });
});
