import type { Actor } from '../db/audit';
import { activateRuleSet, createFromPreset, createRuleSet, getRuleSet, listRuleSets, presetList, ruleSetTimeline } from '../db/rulesets';
import { previewInputs } from '../db/levels';
import { LocalDate, today } from '../domain/dates';
import { parseRuleSet } from '../domain/rules/definition';
import { unprocessable } from '../errors';
import type { Runtime } from '../runtime';

/** Versioned, immutable rule sets; the timeline of which is in force on which day; dry-run previews. */

/** Every stored rule set; `active`: the one in force today. */
export async function ruleSets(rt: Runtime) {
  return { items: await listRuleSets(rt.db.read, today(rt.config.reportingTimeZone)) };
}

/** The shipped presets (id, name, title, source…). */
export function presets() {
  return { items: presetList() };
}

export function ruleSet(rt: Runtime, id: string) {
  return getRuleSet(rt.db.read, id, today(rt.config.reportingTimeZone));
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

/**
 * Puts a rule set in force from `effectiveFrom` (default: today in TZ_REPORTING). When days
 * from then on are classified already, the answer names the job that recomputes them, each
 * day under the set in force on it; the job runner is woken at once.
 */
export async function activate(rt: Runtime, id: string, effectiveFrom: LocalDate | undefined, actor: Actor) {
  const now = today(rt.config.reportingTimeZone);
  const out = await activateRuleSet(rt.db, id, effectiveFrom ?? now, actor, now);
  if (out.job) rt.jobs.kick();
  return { ...out.rule_set, activation: out.activation, job: out.job, unchanged: out.unchanged };
}

/** Which rule set is in force on which days, as recorded at `asOf` (null: now). */
export async function timeline(rt: Runtime, asOf: Date | null) {
  return { as_of: asOf?.toISOString() ?? null, items: await ruleSetTimeline(rt.db.read, asOf) };
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
