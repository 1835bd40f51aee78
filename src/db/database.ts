import { Knex } from 'knex';
import { Config } from '../config';
import { createKnex } from './knex';

export type Database = {
  /** The primary: every write, and every read that a write depends on. */
  knex: Knex;
  /**
   * Plain reads (GET routes): streaming replicas when DATABASE_READ_URL names them, else
   * the primary. Replicas lag by a little: nothing that decides a write reads from here.
   */
  read: Knex;
  /**
   * Connections that keep session state — the session advisory locks of recomputation and
   * of the instance's liveness. DATABASE_SESSION_URL when DATABASE_URL goes through a
   * transaction-mode pooler (which would hand the session to other clients between
   * transactions); else the primary's pool.
   */
  session: Knex;
  /** Where each pool connects (job processes connect to the same places). */
  urls: { primary: string; session: string; read: string | null };
  mode: 'postgres' | 'embedded';
  /** Reads go to a replica (DATABASE_READ_URL). */
  replica: boolean;
  /** COPY FROM STDIN is available (a real server); the embedded engine stages rows with INSERT. */
  supportsCopy: boolean;
  /** Connections in the pool (a recomputation keeps up to two of them for its run). */
  poolMax: number;
  /**
   * Every write of the store of record: one transaction on the primary; when it commits,
   * this process's write count goes up, so caches of derived views (map ETags, key
   * lookups) see the change at once. Repositories write only through here.
   */
  write<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /** Writes this process has committed through `write` (caches compare it). */
  writeCount(): number;
  /**
   * For a repository's write path that commits on a connection of its own (the level
   * writer's session connections, COPY): counts one committed write, as `write` does.
   */
  committed(): void;
  /** Work that uses these pools and must end before they close (a job dispatcher): run first by close(). */
  whenClosing(stop: () => Promise<void>): void;
  close(): Promise<void>;
};

type Urls = Pick<Config, 'databaseReadUrl' | 'databaseSessionUrl'>;

/** DATABASE_URL selects a real PostgreSQL+PostGIS; without it the embedded engine starts. */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'dbPoolMax'> & Partial<Urls>): Promise<Database> {
  if (config.databaseUrl) return connectDatabase(config.databaseUrl, config.dbPoolMax, false, config);
  // PGlite (WASM) loads only when the embedded engine is used.
  const { startEmbedded } = await import('./embedded');
  const engine = await startEmbedded(config.dataDir);
  const db = connectDatabase(engine.url, 1, true);
  return {
    ...db,
    async close() {
      await db.close();
      await engine.stop();
    },
  };
}

export function connectDatabase(url: string, poolMax: number, embedded: boolean, urls: Partial<Urls> = {}): Database {
  const knex = createKnex({ url, poolMax, embedded });
  const readUrl = embedded ? undefined : urls.databaseReadUrl;
  const sessionUrl = embedded ? undefined : urls.databaseSessionUrl;
  const read = readUrl ? createKnex({ url: readUrl, poolMax, embedded: false }) : knex;
  // a recomputation holds up to two session connections for its run
  const session = sessionUrl ? createKnex({ url: sessionUrl, poolMax: 3, embedded: false }) : knex;
  const closing: (() => Promise<void>)[] = [];
  let writes = 0;
  return {
    knex,
    read,
    session,
    urls: { primary: url, session: sessionUrl ?? url, read: readUrl ?? null },
    mode: embedded ? 'embedded' : 'postgres',
    replica: Boolean(readUrl),
    supportsCopy: !embedded,
    poolMax: embedded ? 1 : poolMax,
    async write(fn) {
      try {
        return await knex.transaction(fn);
      } finally {
        // a failed transaction may still have been committed (a lost COMMIT reply): count it
        writes++;
      }
    },
    writeCount: () => writes,
    committed() {
      writes++;
    },
    whenClosing(stop) {
      closing.push(stop);
    },
    async close() {
      await Promise.all(closing.splice(0).map((stop) => stop()));
      await Promise.all([knex.destroy(), read !== knex ? read.destroy() : null, session !== knex ? session.destroy() : null]);
    },
  };
}
