import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/**
 * PostgreSQL clusters that a test owns: started with the server's own tools (initdb, pg_ctl,
 * pg_basebackup) in a temporary directory on a port of their own, so that restarting one,
 * or making a streaming replica of it, disturbs nothing else on the machine. They need the
 * server binaries (postgresql-NN with postgis) and root or the postgres user; the tests
 * that use them run only when ZONERISK_CLUSTER_TESTS=1 (CI sets it).
 */
export const clusterTestsEnabled = () => process.env.ZONERISK_CLUSTER_TESTS === '1';
export const CLUSTER_TESTS_SKIPPED = 'needs its own PostgreSQL clusters (server binaries, root or postgres): set ZONERISK_CLUSTER_TESTS=1 (CI does)';

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(a) - Number(b)) : [];
  const v = versions[versions.length - 1];
  if (!v) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return path.join(root, v, 'bin');
}

const asRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a server tool as the postgres user (initdb and the server refuse root). */
function pgTool(tool: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  const exe = path.join(binDir(), tool);
  const [cmd, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: '/tmp' });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${tool} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return `${r.stdout}${r.stderr}`;
}

/** The same, without blocking the event loop (the test's clients keep running meanwhile). */
function pgToolAsync(tool: string, args: string[]): Promise<void> {
  const exe = path.join(binDir(), tool);
  const [cmd, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { cwd: '/tmp' }, (err, stdout, stderr) => (err ? reject(new Error(`${tool} failed: ${stderr}${stdout}`)) : resolve()));
  });
}

export type Cluster = {
  name: string;
  port: number;
  dir: string;
  url(database?: string): string;
  /** pg_ctl restart -m fast: every session is terminated, the server comes back. */
  restart(): Promise<void>;
  stop(): void;
  start(): void;
  query<R extends object = Record<string, unknown>>(sql: string, database?: string): Promise<R[]>;
  destroy(): void;
};

const clusters: Cluster[] = [];

function makeCluster(name: string, port: number, dir: string): Cluster {
  const log = path.join(path.dirname(dir), `${name}.log`);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${path.dirname(dir)} -c fsync=off -c max_wal_senders=4 -c wal_level=replica -c hot_standby=on -c max_connections=60`;
  const cluster: Cluster = {
    name,
    port,
    dir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    restart: () => pgToolAsync('pg_ctl', ['restart', '-D', dir, '-m', 'fast', '-w', '-t', '60', '-l', log, '-o', options]),
    stop: () => void pgTool('pg_ctl', ['stop', '-D', dir, '-m', 'fast', '-w', '-t', '60'], { allowFail: true }),
    start: () => void pgTool('pg_ctl', ['start', '-D', dir, '-w', '-t', '60', '-l', log, '-o', options]),
    async query<R extends object>(sql: string, database = 'postgres') {
      const c = new Client({ connectionString: cluster.url(database) });
      await c.connect();
      try {
        return (await c.query<R>(sql)).rows;
      } finally {
        await c.end();
      }
    },
    destroy() {
      cluster.stop();
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
      clusters.splice(clusters.indexOf(cluster), 1);
    },
  };
  clusters.push(cluster);
  return cluster;
}

function ownedTempDir(prefix: string): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (asRoot()) execFileSync('chown', ['postgres:postgres', parent]);
  return parent;
}

/** A new primary: initdb (trust auth, replication allowed from loopback), started. */
export function createCluster(name: string, port: number): Cluster {
  const parent = ownedTempDir(`zonerisk-${name}-`);
  const dir = path.join(parent, 'data');
  pgTool('initdb', ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  fs.appendFileSync(path.join(dir, 'pg_hba.conf'), '\nhost replication all 127.0.0.1/32 trust\n');
  const c = makeCluster(name, port, dir);
  c.start();
  return c;
}

/** A streaming replica of `primary`: pg_basebackup -R (standby.signal + primary_conninfo), started. */
export function createReplica(primary: Cluster, name: string, port: number): Cluster {
  const parent = ownedTempDir(`zonerisk-${name}-`);
  const dir = path.join(parent, 'data');
  pgTool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', dir, '-R', '-X', 'stream', '-c', 'fast']);
  const c = makeCluster(name, port, dir);
  c.start();
  return c;
}

/** A database with PostGIS on the cluster. */
export async function createDatabase(c: Cluster, name: string): Promise<string> {
  await c.query(`CREATE DATABASE ${name}`);
  await c.query('CREATE EXTENSION IF NOT EXISTS postgis', name);
  return c.url(name);
}

/** Every cluster still running is stopped and removed (afterAll, and on a crash of the run). */
export function destroyAll(): void {
  for (const c of [...clusters].reverse()) c.destroy();
}
process.on('exit', destroyAll);

export type Pooler = { port: number; url(database: string): string; stop(): void };

/**
 * PgBouncer in transaction mode in front of `target` (the Debian package; it refuses to run
 * as root, so it runs as postgres), on its own port. Null when pgbouncer is not installed.
 */
export function startPgBouncer(target: Cluster, databases: string[], port: number): Pooler | null {
  const exe = '/usr/sbin/pgbouncer';
  if (!fs.existsSync(exe)) return null;
  const dir = ownedTempDir('zonerisk-pgbouncer-');
  fs.writeFileSync(path.join(dir, 'userlist.txt'), '"postgres" ""\n');
  fs.writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      ...databases.map((d) => `${d} = host=127.0.0.1 port=${target.port} dbname=${d}`),
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${dir}/userlist.txt`,
      'pool_mode = transaction',
      'admin_users = postgres',
      'max_client_conn = 500',
      'default_pool_size = 20',
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${dir}/pgbouncer.log`,
      `pidfile = ${dir}/pgbouncer.pid`,
      '',
    ].join('\n'),
  );
  if (asRoot()) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const argv = ['-d', path.join(dir, 'pgbouncer.ini')];
  const r = asRoot() ? spawnSync('runuser', ['-u', 'postgres', '--', exe, ...argv], { encoding: 'utf8' }) : spawnSync(exe, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pgbouncer did not start: ${r.stderr}${r.stdout}`);
  const pidFile = path.join(dir, 'pgbouncer.pid');
  for (let i = 0; i < 100 && !fs.existsSync(pidFile); i++) spawnSync('sleep', ['0.05']);
  return {
    port,
    url: (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    stop() {
      try {
        process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
      } catch {
        // already gone
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
