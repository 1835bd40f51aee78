import type { Request, Response } from 'express';
import { Routes } from '../access';
import type { Briefing, BriefingFormat } from '../../domain/briefing';
import { briefingPage } from '../../domain/briefingPage';
import { AppError, badRequest } from '../../errors';
import type { Runtime } from '../../runtime';
import { briefing, BriefingQuery, briefingScope } from '../../services/briefing';
import { BRIEFING_MEDIA_TYPES, briefingFileName, writeBriefing } from '../../services/briefingFiles';
import { briefingMap } from '../../services/briefingMap';
import { briefingPageQuery, briefingQuery, todayIn } from '../schemas';
import { parseQuery } from '../validation';
import { asOfOf } from './zones';
import { reply } from '../responses/common';
import { Briefing as BriefingBody } from '../responses/briefing';

/**
 * The weekly steering-committee briefing: JSON, and the same as an XLSX workbook, a PDF (A4)
 * and the commune list as CSV; and the printable page (GET /briefing, HTML). The briefing is
 * read whole first (a bad query, an unknown area or a day without a publication is a JSON
 * error), then written out. HEAD answers the headers after the light checks alone (the area,
 * the publication), without reading or writing the briefing. A briefing takes one of
 * ZONERISK_MAX_BRIEFINGS turns, given back as soon as its client hangs up (the reads still to
 * come are then not made).
 */
export function briefingRouter(rt: Runtime): Routes {
  const r = new Routes();

  /** A turn of the briefings' gate, or 503 busy; null when the client hung up while waiting. */
  const takeTurn = async (res: Response) => {
    const turn = await rt.briefings.enter(res);
    if (turn === 'gone') return null;
    if (turn === 'busy') {
      const e = new AppError(503, 'busy', 'too many briefings are being made (ZONERISK_MAX_BRIEFINGS at a time); retry shortly');
      e.retryAfter = 5;
      throw e;
    }
    return turn;
  };

  /**
   * Runs `work` with a turn: the turn is given back when the work ends or the client hangs
   * up, whichever comes first; a hang-up also aborts the work's remaining reads. An error
   * after the client is gone is nobody's to hear.
   */
  const withTurn = async (res: Response, work: (signal: AbortSignal) => Promise<void>) => {
    const turn = await takeTurn(res);
    if (!turn) return;
    const abort = new AbortController();
    const hangUp = () => {
      if (!res.writableFinished) abort.abort();
      turn.release();
    };
    res.on('close', hangUp);
    try {
      await work(abort.signal);
    } catch (e) {
      if (abort.signal.aborted || res.destroyed) return; // the client hung up: nobody to tell
      throw e; // before the body: a JSON error; after it began: the response is aborted (src/http/errors.ts)
    } finally {
      res.off('close', hangUp);
      turn.release();
    }
  };

  const queryOf = (q: { date?: Briefing['date'] | undefined; parent?: string | undefined; version: 'latest' | 'published'; as_of?: string | undefined }): BriefingQuery => ({
    date: q.date ?? todayIn(rt.config),
    parent: q.parent,
    version: q.version,
    asOf: asOfOf(q),
  });

  const answer = (fixed: BriefingFormat | null) => async (req: Request, res: Response) => {
    const q = parseQuery(briefingQuery, req.query);
    if (fixed !== null && q.format !== undefined && q.format !== fixed) {
      throw badRequest(`format=${q.format} contradicts the path (.${fixed})`, [{ path: 'format', message: `must be ${fixed} here, or left out` }], 'invalid_query');
    }
    const format: BriefingFormat = fixed ?? q.format ?? 'json';
    const query = queryOf(q);
    const headers = (b: Pick<Briefing, 'area' | 'date'>) => {
      res.setHeader('Content-Type', BRIEFING_MEDIA_TYPES[format]);
      if (format !== 'json') res.setHeader('Content-Disposition', `attachment; filename="${briefingFileName(b, format)}"`);
      res.setHeader('Cache-Control', 'no-store');
    };
    if (req.method === 'HEAD') {
      await briefingScope(rt, query);
      headers({ area: { code: query.parent ?? null, name: '', kind: null, kind_label: null }, date: query.date });
      res.end();
      return;
    }
    // a country's briefing is seconds of reads and a long PDF: ZONERISK_MAX_BRIEFINGS at once, a few waiting, the rest 503
    await withTurn(res, async (signal) => {
      const b = await briefing(rt, { ...query, signal });
      if (format === 'json') {
        reply(res, BriefingBody, b);
        return;
      }
      const map = format === 'pdf' ? await briefingMap(rt, b) : null;
      if (signal.aborted) return;
      headers(b);
      await writeBriefing(b, format, res, { map });
    });
  };

  /** The printable page: the same briefing as HTML with its map, linking to the files of the same query. */
  const page = async (req: Request, res: Response) => {
    const q = parseQuery(briefingPageQuery, req.query);
    const query = queryOf(q);
    const headers = () => {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
    };
    if (req.method === 'HEAD') {
      await briefingScope(rt, query);
      headers();
      res.end();
      return;
    }
    await withTurn(res, async (signal) => {
      const b = await briefing(rt, { ...query, signal });
      const map = await briefingMap(rt, b);
      if (signal.aborted) return;
      // the downloads of the same briefing (relative: the page works behind a path prefix too)
      const params = new URLSearchParams({ date: b.date });
      if (query.parent !== undefined) params.set('parent', query.parent);
      if (query.version !== 'latest') params.set('version', query.version);
      if (q.as_of !== undefined) params.set('as_of', q.as_of);
      const link = (ext: string) => `v1/briefing${ext}?${params.toString()}`;
      headers();
      res.send(briefingPage(b, map, { pdf: link('.pdf'), xlsx: link('.xlsx'), csv: link('.csv'), json: link('') }));
    });
  };

  r.get('/briefing', 'read', page);
  r.get('/v1/briefing', 'read', answer(null));
  r.get('/v1/briefing.xlsx', 'read', answer('xlsx'));
  r.get('/v1/briefing.pdf', 'read', answer('pdf'));
  r.get('/v1/briefing.csv', 'read', answer('csv'));
  return r;
}
