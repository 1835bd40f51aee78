import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { postgis } from '@electric-sql/pglite-postgis';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { log } from '../log';

/**
 * The embedded engine: PGlite (PostgreSQL compiled to WASM) with PostGIS, served on a
 * loopback port through pglite-socket so that the application talks to it with the very
 * same pg/knex code it uses against a real server.
 *
 * PGlite is a single-session database. The socket server multiplexes connections at the
 * query level, which would interleave transactions, so callers must use one connection.
 */
export type EmbeddedEngine = {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
};

const LOCK_FILE = 'zonerisk.lock';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Two processes on one PGlite directory would corrupt it: refuse the second one. */
function takeLock(dataDir: string): () => void {
  const lockPath = path.join(dataDir, LOCK_FILE);
  try {
    const holder = Number(fs.readFileSync(lockPath, 'utf8').trim());
    if (holder && holder !== process.pid && processAlive(holder)) {
      throw new Error(
        `the embedded database in ${dataDir} is in use by process ${holder}; stop it or set ZONERISK_DATA_DIR to another directory`,
      );
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.writeFileSync(lockPath, String(process.pid));
  return () => {
    try {
      if (fs.readFileSync(lockPath, 'utf8').trim() === String(process.pid)) fs.unlinkSync(lockPath);
    } catch {
      /* already gone */
    }
  };
}

export async function startEmbedded(dataDir: string, port = 0): Promise<EmbeddedEngine> {
  const pgdata = path.join(dataDir, 'pgdata');
  fs.mkdirSync(pgdata, { recursive: true });
  const releaseLock = takeLock(dataDir);
  const started = Date.now();
  let db: PGlite | undefined;
  try {
    db = await PGlite.create({ dataDir: pgdata, extensions: { postgis } });
    await db.exec('CREATE EXTENSION IF NOT EXISTS postgis');
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 8 });
    await server.start();
    const conn = server.getServerConn();
    const boundPort = Number(conn.slice(conn.lastIndexOf(':') + 1));
    log.info('embedded database ready', { dataDir, port: boundPort, ms: Date.now() - started });
    const pglite = db;
    return {
      url: `postgres://postgres@127.0.0.1:${boundPort}/postgres`,
      dataDir,
      async stop() {
        await server.stop();
        await pglite.close();
        releaseLock();
      },
    };
  } catch (e) {
    if (db) await db.close().catch(() => undefined);
    releaseLock();
    throw e;
  }
}
