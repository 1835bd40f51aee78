import type { Request, Response } from 'express';
import { Routes } from '../access';
import type { BriefingFormat } from '../../domain/briefing';
import { AppError, badRequest } from '../../errors';
import type { Runtime } from '../../runtime';
import { briefing } from '../../services/briefing';
import { BRIEFING_MEDIA_TYPES, briefingFileName, writeBriefing } from '../../services/briefingFiles';
import { briefingQuery, todayIn } from '../schemas';
import { parseQuery } from '../validation';
import { asOfOf } from './zones';

/**
 * The weekly steering-committee briefing: JSON, and the same as an XLSX workbook, a PDF (A4)
 * and the commune list as CSV. The briefing is read whole first (a bad query, an unknown
 * area or a day without a publication is a JSON error), then written out.
 */
export function briefingRouter(rt: Runtime): Routes {
  const r = new Routes();

  const answer = (fixed: BriefingFormat | null) => async (req: Request, res: Response) => {
    const q = parseQuery(briefingQuery, req.query);
    if (fixed !== null && q.format !== undefined && q.format !== fixed) {
      throw badRequest(`format=${q.format} contradicts the path (.${fixed})`, [{ path: 'format', message: `must be ${fixed} here, or left out` }], 'invalid_query');
    }
    const format: BriefingFormat = fixed ?? q.format ?? 'json';
    // a country's briefing is seconds of reads and a long PDF: ZONERISK_MAX_BRIEFINGS at once, a few waiting, the rest 503
    const turn = await rt.briefings.enter(res);
    if (turn === 'gone') return;
    if (turn === 'busy') {
      const e = new AppError(503, 'busy', 'too many briefings are being made (ZONERISK_MAX_BRIEFINGS at a time); retry shortly');
      e.retryAfter = 5;
      throw e;
    }
    try {
      const b = await briefing(rt, { date: q.date ?? todayIn(rt.config), parent: q.parent, version: q.version, asOf: asOfOf(q) });
      if (format === 'json') {
        res.json(b);
        return;
      }
      res.setHeader('Content-Type', BRIEFING_MEDIA_TYPES[format]);
      res.setHeader('Content-Disposition', `attachment; filename="${briefingFileName(b, format)}"`);
      res.setHeader('Cache-Control', 'no-store');
      try {
        await writeBriefing(b, format, res);
      } catch (e) {
        if (res.destroyed) return; // the client hung up: nobody to tell
        throw e; // the body has begun: the response is aborted (src/http/errors.ts)
      }
    } finally {
      turn.release();
    }
  };

  r.get('/v1/briefing', 'read', answer(null));
  r.get('/v1/briefing.xlsx', 'read', answer('xlsx'));
  r.get('/v1/briefing.pdf', 'read', answer('pdf'));
  r.get('/v1/briefing.csv', 'read', answer('csv'));
  return r;
}
