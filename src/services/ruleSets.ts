import type { Actor } from '../db/audit';
import { activateRuleSet, createFromPreset, createRuleSet, getRuleSet, listRuleSets, presetList } from '../db/rulesets';
import { previewInputs } from '../db/levels';
import { LocalDate } from '../domain/dates';
import { parseRuleSet } from '../domain/rules/definition';
import { unprocessable } from '../errors';
import type { Runtime } from '../runtime';

/** Versioned, immutable rule sets; one active at a time; dry-run previews. */

export async function ruleSets(rt: Runtime) {
  return { items: await listRuleSets(rt.db.read) };
}

/** The shipped presets (id, name, title, source…). */
export function presets() {
  return { items: presetList() };
}

export function ruleSet(rt: Runtime, id: string) {
  return getRuleSet(rt.db.read, id);
}

/**
 * Stores a preset (`{ "preset": id }`) or a definition as the next version of its name; the
 * size limits are checked first (a bounded pass), then the schema. An identical definition
 * gives the stored version back (created: false).
 */
export async function storeRuleSet(rt: Runtime, body: { preset: string } | { definition: unknown }, actor: Actor) {
  if ('preset' in body) return createFromPreset(rt.db, body.preset, actor);
  const parsed = parseRuleSet(body.definition);
  if (!parsed.ok && parsed.tooLarge) {
    throw unprocessable(`the rule set is larger than a limit allows (${parsed.issues[0]?.message ?? ''}); nothing was stored`, parsed.issues, 'rule_set_too_large');
  }
  if (!parsed.ok) throw unprocessable('the rule set is not valid; nothing was stored', parsed.issues, 'invalid_rule_set');
  return createRuleSet(rt.db, parsed.value, null, actor);
}

export function activate(rt: Runtime, id: string, actor: Actor) {
  return activateRuleSet(rt.db, id, actor);
}

/**
 * What the levels on `date` would be under a stored rule set, against the stored ones, as
 * JSON bytes; writes nothing. The facts are read here, parsed and classified in the
 * classification worker (a few at a time: PREVIEW_RUNNING, PREVIEW_WAITING).
 */
export async function preview(rt: Runtime, id: string, date: LocalDate): Promise<Buffer> {
  const rs = await getRuleSet(rt.db.knex, id);
  return rt.previews.turn(async () => {
    const loaded = await previewInputs(rt.db.knex, rs.definition, date);
    return rt.previews.run({ ruleSet: { id: rs.id, name: rs.name, version: rs.version }, definition: rs.definition, date, ...loaded });
  });
}
