import { Routes } from '../access';
import { z } from 'zod';
import type { Runtime } from '../../runtime';
import { activate, presets, preview, ruleSet, ruleSets, storeRuleSet, timeline } from '../../services/ruleSets';
import { accepts, acceptsOptional } from '../errors';
import { activateBody, dateQuery, ruleSetIdParam, timelineQuery, todayIn } from '../schemas';
import { asOfOf } from './zones';
import { parseBody, parseQuery } from '../validation';
import { writer } from '../auth';
import { reply } from '../responses/common';
import { Activated, Presets, RuleSet, RuleSets, RuleSetStored, Timeline } from '../responses/rulesets';

const presetBody = z.object({ preset: z.string() }).strict();

/** Versioned, immutable rule sets; the timeline of which is in force when; dry-run previews. */
export function ruleSetsRouter(rt: Runtime): Routes {
  const r = new Routes();

  r.get('/v1/rule-sets', 'read', async (_req, res) => {
    reply(res, RuleSets, await ruleSets(rt));
  });

  r.get('/v1/rule-sets/presets', 'read', (_req, res) => {
    reply(res, Presets, presets());
  });

  r.get('/v1/rule-sets/timeline', 'read', async (req, res) => {
    reply(res, Timeline, await timeline(rt, asOfOf(parseQuery(timelineQuery, req.query))));
  });

  r.get('/v1/rule-sets/:id', 'read', async (req, res) => {
    reply(res, RuleSet, await ruleSet(rt, parseQuery(ruleSetIdParam, req.params.id)));
  });

  r.post('/v1/rule-sets', { access: 'admin', tooLarge: 'rule_set_too_large' }, accepts('application/json'), async (req, res) => {
    const body: unknown = req.body;
    const preset = presetBody.safeParse(body);
    const out = await storeRuleSet(rt, preset.success ? preset.data : { definition: body }, writer(res));
    reply(res, RuleSetStored, { ...out.rule_set, created: out.created }, out.created ? 201 : 200);
  });

  r.post('/v1/rule-sets/:id/activate', 'admin', acceptsOptional('application/json'), async (req, res) => {
    const id = parseQuery(ruleSetIdParam, req.params.id);
    const body = parseBody(activateBody, req.body ?? {});
    reply(res, Activated, await activate(rt, id, body.effective_from, writer(res)));
  });

  // What the levels on a date would be under this set, against the stored ones; writes nothing.
  r.post('/v1/rule-sets/:id/preview', 'admin', async (req, res) => {
    const id = parseQuery(ruleSetIdParam, req.params.id);
    const date = parseQuery(dateQuery, req.query).date ?? todayIn(rt.config);
    res.type('application/json').send(await preview(rt, id, date));
  });

  return r;
}
