import { Routes } from '../access';
import { z } from 'zod';
import { loadAreas, loadFactTexts } from '../../db/inputs';
import { activateRuleSet, createFromPreset, createRuleSet, getRuleSet, listRuleSets, presetList } from '../../db/rulesets';
import { effectiveLevelsOn } from '../../db/zones';
import { parseRuleSet } from '../../domain/rules/definition';
import { previewOffThread, previewTurn } from '../../jobs/classifyThread';
import { unprocessable } from '../../errors';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { dateQuery, ruleSetIdParam, todayIn } from '../schemas';
import { parseQuery } from '../validation';
import { writer } from '../auth';

/** Versioned, immutable rule sets; one active at a time; dry-run previews. */
export function ruleSetsRouter({ db, config }: AppContext): Routes {
  const r = new Routes();

  r.get('/v1/rule-sets', 'read', async (_req, res) => {
    res.json({ items: await listRuleSets(db.read) });
  });

  r.get('/v1/rule-sets/presets', 'read', (_req, res) => {
    res.json({ items: presetList() });
  });

  r.get('/v1/rule-sets/:id', 'read', async (req, res) => {
    res.json(await getRuleSet(db.read, parseQuery(ruleSetIdParam, req.params.id)));
  });

  r.post('/v1/rule-sets', { access: 'admin', tooLarge: 'rule_set_too_large' }, accepts('application/json'), async (req, res) => {
    const body: unknown = req.body;
    const preset = z.object({ preset: z.string() }).strict().safeParse(body);
    let out;
    if (preset.success) out = await createFromPreset(db.knex, preset.data.preset, writer(res));
    else {
      // the size limits first (a bounded pass), then the schema
      const parsed = parseRuleSet(body);
      if (!parsed.ok && parsed.tooLarge) {
        throw unprocessable(`the rule set is larger than a limit allows (${parsed.issues[0]?.message ?? ''}); nothing was stored`, parsed.issues, 'rule_set_too_large');
      }
      if (!parsed.ok) throw unprocessable('the rule set is not valid; nothing was stored', parsed.issues, 'invalid_rule_set');
      out = await createRuleSet(db.knex, parsed.value, null, writer(res));
    }
    res.status(out.created ? 201 : 200).json({ ...out.rule_set, created: out.created });
  });

  r.post('/v1/rule-sets/:id/activate', 'admin', async (req, res) => {
    res.json(await activateRuleSet(db.knex, parseQuery(ruleSetIdParam, req.params.id), writer(res)));
  });

  // What the levels on a date would be under this set, against the stored ones; writes nothing.
  r.post('/v1/rule-sets/:id/preview', 'admin', async (req, res) => {
    const rs = await getRuleSet(db.knex, parseQuery(ruleSetIdParam, req.params.id));
    const date = parseQuery(dateQuery, req.query).date ?? todayIn(config);
    // SQL here, on the pool; parsing the facts and classifying in the classification worker
    const body = await previewTurn(async () => {
      const loaded = await db.knex.transaction(async (trx) => {
        const areas = await loadAreas(trx);
        return { areas, facts: await loadFactTexts(trx, rs.definition, date, date), current: await effectiveLevelsOn(trx, date) };
      }); // a read: nothing is written
      return previewOffThread({ ruleSet: { id: rs.id, name: rs.name, version: rs.version }, definition: rs.definition, date, ...loaded });
    });
    res.type('application/json').send(body);
  });

  return r;
}
