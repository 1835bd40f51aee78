import knexFactory, { Knex } from 'knex';
import pg from 'pg';
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
