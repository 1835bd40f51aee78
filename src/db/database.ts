import { Knex } from 'knex';
import { Config } from '../config';
import { createKnex } from './knex';

export type Database = {
  knex: Knex;
  mode: 'postgres' | 'embedded';
  /** COPY FROM STDIN is available (a real server); the embedded engine stages rows with INSERT. */
  supportsCopy: boolean;
  /** Connections in the pool (a recomputation keeps up to two of them for its run). */
  poolMax: number;
  close(): Promise<void>;
};

/** DATABASE_URL selects a real PostgreSQL+PostGIS; without it the embedded engine starts. */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'dbPoolMax'>): Promise<Database> {
  if (config.databaseUrl) return connectDatabase(config.databaseUrl, config.dbPoolMax, false);
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

export function connectDatabase(url: string, poolMax: number, embedded: boolean): Database {
  const knex = createKnex({ url, poolMax, embedded });
  return {
    knex,
    mode: embedded ? 'embedded' : 'postgres',
    supportsCopy: !embedded,
    poolMax: embedded ? 1 : poolMax,
    close: () => knex.destroy(),
  };
}
