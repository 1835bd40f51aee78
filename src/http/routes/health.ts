import { Router } from 'express';
import { migrationsCurrent } from '../../db/migrate';
import { AppContext } from '../context';

export function healthRouter({ db }: AppContext): Router {
  const r = Router();
  r.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/ready', async (_req, res) => {
    try {
      const current = await migrationsCurrent(db.knex);
      if (!current) {
        res.status(503).json({ status: 'not_ready', database: 'ok', migrations: 'pending' });
        return;
      }
      res.json({ status: 'ready', database: 'ok', migrations: 'current', engine: db.mode });
    } catch {
      res.status(503).json({ status: 'not_ready', database: 'unavailable' });
    }
  });
  return r;
}
