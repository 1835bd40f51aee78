import type { Config } from '../config';
import type { Database } from '../db/database';

/** What every router needs: the database and the validated configuration. */
export type AppContext = { db: Database; config: Config };
