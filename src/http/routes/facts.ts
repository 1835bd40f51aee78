import { Request, Response, Router } from 'express';
import { actorOf } from '../../db/audit';
import { IngestBy, ingestMetrics, ingestReports, latestAcceptedDate } from '../../ingest/ingest';
import { Job, recomputeAfterIngest } from '../../jobs/recompute';
import { inBackground, runJobInBackground } from '../../jobs/runner';
import { principalOf } from '../auth';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { metricsBody, reportsBody } from '../schemas';
import { parseBody } from '../validation';

/** Who writes; a reporter only inside its scope (other roles are not limited to areas). */
function by(res: Response): IngestBy {
  const p = principalOf(res);
  return { actor: actorOf(p), scope: p?.role === 'reporter' ? p.scope : null };
}

const isCsv = (req: Request) => (req.headers['content-type'] ?? '').toLowerCase().startsWith('text/csv');

/** Daily reports and indicators: JSON or CSV, upserted all or nothing. */
export function factsRouter({ db, config }: AppContext): Router {
  const r = Router();
  const maxDate = () => latestAcceptedDate(config.reportingTimeZone);
  // late or corrected data: the classified days it affects are recomputed in the background
  const lateData = (job: Job) => inBackground(runJobInBackground(db, job), job, 'recompute after ingest failed');

  r.post('/v1/reports', accepts('application/json', 'text/csv'), async (req, res) => {
    const source = isCsv(req) ? { csv: [String(req.body ?? '')] } : { json: parseBody(reportsBody, req.body).reports };
    const result = await ingestReports(db, source, maxDate(), by(res));
    const job = await recomputeAfterIngest(db, result.earliest_changed_date, lateData);
    res.json({ ...result, recompute: job ? { job: job.id, from: job.params.from, to: job.params.to } : null });
  });

  r.post('/v1/metrics', accepts('application/json', 'text/csv'), async (req, res) => {
    const source = isCsv(req) ? { csv: [String(req.body ?? '')] } : { json: parseBody(metricsBody, req.body).metrics };
    const result = await ingestMetrics(db, source, maxDate(), by(res));
    const job = await recomputeAfterIngest(db, result.earliest_changed_date, lateData);
    res.json({ ...result, recompute: job ? { job: job.id, from: job.params.from, to: job.params.to } : null });
  });

  return r;
}
