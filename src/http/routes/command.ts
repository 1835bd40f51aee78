import { Routes } from '../access';
import { AreaKind } from '../../domain/areas';
import { addDays } from '../../domain/dates';
import type { Runtime } from '../../runtime';
import { changes, publications, publishDay, summaryAnswer } from '../../services/levels';
import { cachedJson } from '../caching';
import { accepts } from '../errors';
import { changesQuery, levelsQuery, publicationBody, todayIn } from '../schemas';
import { parseBody, parseQuery } from '../validation';
import { asOfOf, readingOf } from './zones';
import { writer } from '../auth';
import { reply } from '../responses/common';
import { Changes, Publication, Publications } from '../responses/summary';

/** What a steering committee reads: the change feed, the summary, the published days. */
export function commandRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.get('/v1/changes', 'read', async (req, res) => {
    const q = parseQuery(changesQuery, req.query);
    const until = q.until ?? todayIn(rt.config);
    const since = q.since ?? addDays(until, -6);
    reply(res, Changes, await changes(rt, { since, until, asOf: asOfOf(q), version: q.version, kind: q.kind, parent: q.parent, limit: q.limit, cursor: q.cursor }));
  });

  r.get('/v1/summary', 'read', async (req, res) => {
    const q = parseQuery(levelsQuery, req.query);
    const kind: AreaKind = q.kind ?? 'commune';
    const { etag, body } = await summaryAnswer(rt, readingOf(rt, q), kind, q.parent);
    await cachedJson(rt.bodies, req, res, etag, body);
  });

  r.post('/v1/publications', 'admin', accepts('application/json'), async (req, res) => {
    const body = parseBody(publicationBody, req.body);
    // the same day again with nothing changed since: that publication, 200 (src/db/publications.ts)
    const { publication, created } = await publishDay(rt, body.date, body.note ?? null, writer(res));
    reply(res, Publication, publication, created ? 201 : 200);
  });

  r.get('/v1/publications', 'read', async (_req, res) => {
    reply(res, Publications, await publications(rt));
  });

  return r;
}
