import { Routes } from '../access';
import { Request, Response } from 'express';
import { IngestBy, ingestMetrics, ingestReports, latestAcceptedDate } from '../../ingest/ingest';
import { LocalDate } from '../../domain/dates';
import { recomputeAfterIngest } from '../../jobs/recompute';
import { jobQueue } from '../../jobs/runner';
import { principalOf, writer } from '../auth';
import { AppContext } from '../context';
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

/** Daily reports and indicators: JSON or CSV, upserted all or nothing. */
export function factsRouter({ db, config }: AppContext): Routes {
  const r = new Routes();
  const maxDate = () => latestAcceptedDate(config.reportingTimeZone);
  // late or corrected data: the classified days it affects are queued for recomputation (one
  // pending job per affected range, however many writes) and run by a job process
  const jobs = jobQueue(db, config);
  const lateData = async (earliest: LocalDate | null) => {
    const job = await recomputeAfterIngest(db, earliest);
    if (job) jobs.kick();
    return job ? { job: job.id, from: job.params.from, to: job.params.to } : null;
  };

  r.post('/v1/reports', { access: 'report', body: 'bulk' }, accepts('application/json', 'text/csv'), async (req, res) => {
    const source = isCsv(req) ? { csv: [csvBytes(req)] } : { json: parseBody(reportsBody, req.body).reports };
    const result = await ingestReports(db, source, maxDate(), by(res));
    res.json({ ...result, recompute: await lateData(result.earliest_changed_date) });
  });

  r.post('/v1/metrics', { access: 'report', body: 'bulk' }, accepts('application/json', 'text/csv'), async (req, res) => {
    const source = isCsv(req) ? { csv: [csvBytes(req)] } : { json: parseBody(metricsBody, req.body).metrics };
    const result = await ingestMetrics(db, source, maxDate(), by(res));
    res.json({ ...result, recompute: await lateData(result.earliest_changed_date) });
  });

  return r;
}
