import knexFactory, { Knex } from 'knex';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { log } from '../log';

// Calendar dates stay strings ("YYYY-MM-DD"): a JS Date would attach a time zone to them.
pg.types.setTypeParser(pg.types.builtins.DATE, (v: string) => v);
// count(*) and bigint sums are far below 2^53 in this domain.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v: string) => Number(v));

export type Db = Knex;

export type DbOptions = {
  url: string;
  poolMax: number;
  /** The embedded engine runs one session; it also cannot take COPY FROM STDIN. */
  embedded: boolean;
};

export function createKnex(opts: DbOptions): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: opts.url, application_name: 'zonerisk' },
    pool: { min: 0, max: opts.embedded ? 1 : opts.poolMax, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: 30_000,
    // knex logs through console by default; keep every line in our JSON log instead.
    log: {
      warn: (m: unknown) => log.warn('knex', { detail: String(m) }),
      error: (m: unknown) => log.warn('knex', { detail: String(m) }),
      debug: (m: unknown) => log.debug('knex', { detail: String(m) }),
      deprecate: (m: unknown) => log.debug('knex deprecation', { detail: String(m) }),
    },
  });
}

/** The pg client behind a knex transaction, for COPY streams. */
export async function rawClient(trx: Knex.Transaction): Promise<pg.ClientBase> {
  // Inside a transaction knex hands back the transaction's own connection.
  const client = trx.client as { acquireConnection(): Promise<pg.ClientBase> };
  return client.acquireConnection();
}

/** Bindings that include arrays (sent to pg as one array parameter, e.g. `?::int[]`). */
export function arrayBindings(values: readonly (readonly unknown[] | unknown)[]): readonly Knex.RawBinding[] {
  return values as readonly Knex.RawBinding[];
}

/** Streams lines (each ending in a newline) into `COPY <target> FROM STDIN` on the transaction's connection. */
export async function copyLinesInto(trx: Knex.Transaction, target: string, lines: Iterable<string>, batch = 5000): Promise<void> {
  const client = await rawClient(trx);
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  let text = '';
  let n = 0;
  for (const line of lines) {
    text += line;
    if (++n % batch === 0) {
      if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', resolve));
      text = '';
    }
  }
  stream.end(text);
  await done;
}

/** A value of a row written with COPY. */
export type Cell = string | number | null;

const COPY_SPECIAL = /[\\\t\n\r]/;

/** A value in COPY's text format (\N for null; backslash, tab and line breaks escaped). */
export function copyText(cell: Cell): string {
  if (cell === null) return '\\N';
  if (typeof cell === 'number') return String(cell);
  if (!COPY_SPECIAL.test(cell)) return cell;
  return cell.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}
