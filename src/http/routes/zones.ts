import { Routes } from '../access';
import { addDays } from '../../domain/dates';
import type { Runtime } from '../../runtime';
import { listZones, putOverride, Reading, stopOverride, withdraw, zoneDetail, zoneHistory } from '../../services/levels';
import { accepts, acceptsOptional } from '../errors';
import { badRequest } from '../../errors';
import { cachedJson } from '../caching';
import { areaCodeParam, levelsQuery, LevelsQuery, overrideBody, overrideEndBody, overrideEndQuery, overrideWithdrawBody, todayIn, zonesListQuery } from '../schemas';
import { idParam, parseBody, parseQuery } from '../validation';
import { writer } from '../auth';
import { reply } from '../responses/common';
import { OverrideEnded, OverrideSet, OverrideWithdrawn, ZoneHistory } from '../responses/zones';

/** The `as_of` of a reading query as an instant (null: everything known now). */
export function asOfOf(q: Pick<LevelsQuery, 'as_of'>): Date | null {
  return q.as_of ? new Date(q.as_of) : null;
}

/** The day, reading point and version a levels query asks for (today by default). */
export function readingOf(rt: Runtime, q: Pick<LevelsQuery, 'date' | 'as_of' | 'version'>): Reading {
  return { date: q.date ?? todayIn(rt.config), asOf: asOfOf(q), version: q.version };
}

/** Levels: the zones of a day, one zone explained, a zone's history; command-centre overrides (set, end, withdraw). */
export function zonesRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.get('/v1/zones', 'read', async (req, res) => {
    const q = parseQuery(zonesListQuery, req.query);
    if (q.parent !== undefined && q.within !== undefined) throw badRequest('give parent (its children) or within (everything under it), not both', [{ path: 'within', message: 'not with parent' }], 'invalid_query');
    const { etag, body } = await listZones(rt, readingOf(rt, q), { kind: q.kind, parent: q.parent, within: q.within, level: q.level }, q.figures === 'true');
    await cachedJson(rt.bodies, req, res, etag, body);
  });

  r.get('/v1/zones/:code', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const { etag, body } = await zoneDetail(rt, code, readingOf(rt, parseQuery(levelsQuery, req.query)));
    // the body is built once per tag and kept
    await cachedJson(rt.bodies, req, res, etag, body);
  });

  r.get('/v1/zones/:code/history', 'read', async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const q = parseQuery(levelsQuery, req.query);
    const to = q.to ?? todayIn(rt.config);
    reply(res, ZoneHistory, await zoneHistory(rt, code, q.from ?? addDays(to, -29), to, { asOf: asOfOf(q), version: q.version }));
  });

  r.post('/v1/zones/:code/overrides', 'admin', accepts('application/json'), async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const body = parseBody(overrideBody, req.body);
    // an active override already covering any of these days → 409 naming it (src/db/overrides.ts)
    reply(res, OverrideSet, await putOverride(rt, code, body, writer(res)), 201);
  });

  // ends it from today (or ?from=, or {"until"}): the days before keep it (src/db/overrides.ts)
  r.delete('/v1/zones/:code/overrides/:id', 'admin', acceptsOptional('application/json'), async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const id = idParam(req.params.id, 'override id');
    const { from } = parseQuery(overrideEndQuery, req.query);
    const { until } = parseBody(overrideEndBody, req.body ?? {});
    if (from !== undefined && until !== undefined) throw badRequest('give ?from= or {"until"}, not both', [{ path: 'from', message: 'not with until' }], 'invalid_query');
    reply(res, OverrideEnded, await stopOverride(rt, code, id, { from, until }, writer(res)));
  });

  // removes one entered by mistake: gone from latest reads, kept for as_of and the audit
  r.post('/v1/zones/:code/overrides/:id/withdraw', 'admin', accepts('application/json'), async (req, res) => {
    const code = parseQuery(areaCodeParam, req.params.code);
    const id = idParam(req.params.id, 'override id');
    const body = parseBody(overrideWithdrawBody, req.body);
    reply(res, OverrideWithdrawn, await withdraw(rt, code, id, body.reason, writer(res)));
  });

  return r;
}
