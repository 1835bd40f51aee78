import { Routes } from '../access';
import { Request, Response } from 'express';
import type { IngestBy } from '../../ingest/ingest';
import type { Runtime } from '../../runtime';
import { FactImportOptions, FactUpload, importFacts } from '../../services/imports';
import { bodyBytes } from '../jsonBody';
import { principalOf, writer } from '../auth';
import { accepts } from '../errors';
import { FACT_TYPES, importFactsQuery, metricsBody, reportsBody } from '../schemas';
import { parseBody, parseQuery } from '../validation';
import { reply } from '../responses/common';
import { FactImport } from '../responses/areas';
/** Who writes; a reporter only inside its scope (other roles are not limited to areas). */
function by(res: Response): IngestBy {
  const p = principalOf(res);
  return { actor: writer(res), scope: p?.role === 'reporter' ? p.scope : null };
}

/** The body: a JSON body's rows, or a CSV/XLSX body's bytes (services/imports.ts reads them). */
const upload = (req: Request, res: Response, rows: unknown[] | undefined): FactUpload => ({ contentType: req.headers['content-type'] ?? '', bytes: bodyBytes(req, res), ...(rows ? { rows } : {}) });

function options(req: Request): FactImportOptions {
  const q = parseQuery(importFactsQuery, req.query);
  return { dryRun: q.dry_run === true, profile: q.profile, columns: q.columns, fileName: q.file_name ?? null };
}

/** Daily reports and indicators: JSON, CSV or XLSX, by code or by name, upserted all or nothing (or a dry run); late data queued for recomputation. */
export function factsRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.post('/v1/reports', { access: 'report', body: 'bulk' }, accepts(...FACT_TYPES), async (req, res) => {
    const rows = Buffer.isBuffer(req.body) ? undefined : parseBody(reportsBody, req.body).reports;
    reply(res, FactImport, await importFacts(rt, 'reports', upload(req, res, rows), options(req), by(res)));
  });

  r.post('/v1/metrics', { access: 'report', body: 'bulk' }, accepts(...FACT_TYPES), async (req, res) => {
    const rows = Buffer.isBuffer(req.body) ? undefined : parseBody(metricsBody, req.body).metrics;
    reply(res, FactImport, await importFacts(rt, 'metrics', upload(req, res, rows), options(req), by(res)));
  });

  return r;
}
