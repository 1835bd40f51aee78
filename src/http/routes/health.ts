import { Routes } from '../access';
import { migrationsCurrent } from '../../db/migrate';
import { AppContext } from '../context';

const REPLICA_STATUS = `SELECT pg_is_in_recovery() AS standby,
  CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS lag`;

function withTimeout<T>(p: Promise<T>, ms = 3_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export function healthRouter({ db }: AppContext): Routes {
  const r = new Routes();
  // A map of the API (the command-centre map page is at /, for browsers).
  r.get('/v1', 'public', (_req, res) => {
    res.json({
      service: 'zonerisk',
      description: 'zone-level epidemic risk classification (Cấp 1–4)',
      engine: db.mode,
      links: {
        map: '/',
        health: '/health',
        ready: '/ready',
        areas: '/v1/areas?kind=commune',
        area: '/v1/areas/{code}',
        reports: '/v1/areas/{code}/reports?from=&to=',
        metrics: '/v1/areas/{code}/metrics?name=',
        zones: '/v1/zones?date=',
        zones_geojson: '/v1/zones.geojson?date=&kind=&zoom=',
        ogc: '/ogc',
        tiles: '/tiles/zones.json',
      },
    });
  });

  r.get('/health', 'public', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // ready: the primary answers with every migration applied (and the read replica answers,
  // when there is one); each check gives up after 3 s, so a hung server reads as unavailable.
  // Public and not rate-limited, so requests arriving while a reading runs share it (a flood
  // of /ready costs one query at a time, not the pool).
  const readiness = async () => {
    const primary = await withTimeout(migrationsCurrent(db.knex)).then(
      (current) => (current ? 'current' : 'pending'),
      () => null,
    );
    const replica = db.replica
      ? await withTimeout(db.read.raw<{ rows: { standby: boolean; lag: number | null }[] }>(REPLICA_STATUS)).then(
          (r) => ({ status: 'ok', standby: r.rows[0]?.standby ?? false, replay_lag_seconds: r.rows[0]?.lag ?? null }),
          () => ({ status: 'unavailable' }),
        )
      : undefined;
    const ready = primary === 'current' && (!replica || replica.status === 'ok');
    return {
      status: ready ? 200 : 503,
      body: {
        status: ready ? 'ready' : 'not_ready',
        database: primary === null ? 'unavailable' : 'ok',
        ...(primary !== null ? { migrations: primary } : {}),
        ...(replica ? { read_replica: replica } : {}),
        engine: db.mode,
      },
    };
  };
  let reading: ReturnType<typeof readiness> | null = null;
  r.get('/ready', 'public', async (_req, res) => {
    reading ??= readiness().finally(() => (reading = null));
    const { status, body } = await reading;
    res.status(status).json(body);
  });
  return r;
}
