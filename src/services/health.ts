import { migrationsCurrent } from '../db/migrate';
import { standbyStatus } from '../db/status';
import type { Runtime } from '../runtime';
import type { Ready } from '../http/responses/service';

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

/**
 * Readiness: the primary answers with every migration applied (and the read replica
 * answers, when there is one); each check gives up after 3 s, so a hung server reads as
 * unavailable.
 */
export async function readiness(rt: Runtime): Promise<{ status: 200 | 503; body: Ready }> {
  const { db } = rt;
  const primary = await withTimeout(migrationsCurrent(db.knex)).then(
    (current) => (current ? 'current' : 'pending'),
    () => null,
  );
  const replica = db.replica
    ? await withTimeout(standbyStatus(db.read)).then(
        (r) => ({ status: 'ok' as const, standby: r.standby, replay_lag_seconds: r.lag }),
        () => ({ status: 'unavailable' as const }),
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
}
