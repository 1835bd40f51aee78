import { Router } from 'express';
import { z } from 'zod';
import { loadAreas, computeInputs } from '../../db/inputs';
import { activateRuleSet, createFromPreset, createRuleSet, getRuleSet, listRuleSets, presetList } from '../../db/rulesets';
import { zonesOn } from '../../db/zones';
import { classifyTree } from '../../domain/rules/tree';
import { parseRuleSet } from '../../domain/rules/definition';
import { unprocessable } from '../../errors';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { dateQuery, ruleSetIdParam, todayIn } from '../schemas';
import { parseQuery } from '../validation';
import { actorOf } from '../../db/audit';
import { principalOf } from '../auth';

/** Versioned, immutable rule sets; one active at a time; dry-run previews. */
export function ruleSetsRouter({ db, config }: AppContext): Router {
  const r = Router();

  r.get('/v1/rule-sets', async (_req, res) => {
    res.json({ items: await listRuleSets(db.read) });
  });

  r.get('/v1/rule-sets/presets', (_req, res) => {
    res.json({ items: presetList() });
  });

  r.get('/v1/rule-sets/:id', async (req, res) => {
    res.json(await getRuleSet(db.read, parseQuery(ruleSetIdParam, req.params.id)));
  });

  r.post('/v1/rule-sets', accepts('application/json'), async (req, res) => {
    const body: unknown = req.body;
    const preset = z.object({ preset: z.string() }).strict().safeParse(body);
    let out;
    if (preset.success) out = await createFromPreset(db.knex, preset.data.preset, actorOf(principalOf(res)));
    else {
      const parsed = parseRuleSet(body);
      if (!parsed.ok) throw unprocessable('the rule set is not valid; nothing was stored', parsed.issues, 'invalid_rule_set');
      out = await createRuleSet(db.knex, parsed.value, null, actorOf(principalOf(res)));
    }
    res.status(out.created ? 201 : 200).json({ ...out.rule_set, created: out.created });
  });

  r.post('/v1/rule-sets/:id/activate', async (req, res) => {
    res.json(await activateRuleSet(db.knex, parseQuery(ruleSetIdParam, req.params.id), actorOf(principalOf(res))));
  });

  // What the levels on a date would be under this set, against the stored ones; writes nothing.
  r.post('/v1/rule-sets/:id/preview', async (req, res) => {
    const rs = await getRuleSet(db.knex, parseQuery(ruleSetIdParam, req.params.id));
    const date = parseQuery(dateQuery, req.query).date ?? todayIn(config);
    const items = await db.knex.transaction(async (trx) => {
      const areas = await loadAreas(trx);
      const inputs = await computeInputs(trx, rs.definition, date, areas);
      const current = new Map((await zonesOn(trx, date, null)).map((z) => [z.area_id, z.level]));
      const items = classifyTree(rs.definition, areas, (a) => inputs.get(a.id) ?? {}, (a, c) => {
        const now = current.get(a.id) ?? 'unknown';
        return { level: c.level, result: { code: a.code, kind: a.kind, level: c.level, reason: c.reason, current: now, changed: now !== c.level } };
      });
      return items; // a read: nothing is written
    });
    items.sort((a, b) => a.code.localeCompare(b.code));
    res.json({ rule_set: { id: rs.id, name: rs.name, version: rs.version }, date, areas: items.length, changed: items.filter((i) => i.changed).length, items });
  });

  return r;
}
