import { Routes } from '../access';
import { Request, Response } from 'express';
import type { IngestBy } from '../../ingest/ingest';
import type { Runtime } from '../../runtime';
import { storeMetrics, storeReports } from '../../services/areas';
import { principalOf, writer } from '../auth';
import { accepts } from '../errors';
import { metricsBody, reportsBody } from '../schemas';
import { parseBody } from '../validation';
/** Who writes; a reporter only inside its scope (other roles are not limited to areas). */
function by(res: Response): IngestBy {
  const p = principalOf(res);
  return { actor: writer(res), scope: p?.role === 'reporter' ? p.scope : null };
}

const isCsv = (req: Request) => (req.headers['content-type'] ?? '').toLowerCase().startsWith('text/csv');
/** A CSV body as its bytes (the ingest checks that they are UTF-8, naming the line where not). */
const csvBytes = (req: Request): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.from(typeof req.body === 'string' ? req.body : ''));

/** Daily reports and indicators: JSON or CSV, upserted all or nothing; late data queued for recomputation. */
export function factsRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.post('/v1/reports', { access: 'report', body: 'bulk' }, accepts('application/json', 'text/csv'), async (req, res) => {
    const source = isCsv(req) ? { csv: [csvBytes(req)] } : { json: parseBody(reportsBody, req.body).reports };
    res.json(await storeReports(rt, source, by(res)));
  });

  r.post('/v1/metrics', { access: 'report', body: 'bulk' }, accepts('application/json', 'text/csv'), async (req, res) => {
    const source = isCsv(req) ? { csv: [csvBytes(req)] } : { json: parseBody(metricsBody, req.body).metrics };
    res.json(await storeMetrics(rt, source, by(res)));
  });

  return r;
}
