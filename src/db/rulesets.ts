import { Knex } from 'knex';
import { LocalDate } from '../domain/dates';
import { RuleSet } from '../domain/rules/definition';
import { inForceOn, Period, periodOn } from '../domain/rules/timeline';
import { PRESET_INPUTS, PRESETS } from '../domain/rules/presets';
import { notFound, unprocessable } from '../errors';
import { Actor, audit } from './audit';
import type { Database } from './database';
import { enqueueIn, Job, AUTOMATIC_ATTEMPTS } from './jobs';
import { ruleSetLockName, RULE_SET_TIMELINE_LOCK } from './locks';
import { loadPeriods } from './timeline';

export type RuleSetSummary = {
  id: string;
  name: string;
  version: number;
  active: boolean;
  effective_from: string | null;
  preset: string | null;
  created_at: string;
};

export type StoredRuleSet = RuleSetSummary & { definition: RuleSet };

type Row = { id: string; name: string; version: number; definition: RuleSet; effective_from: string | null; preset: string | null; created_at: Date };

/** The set in force on `today` (the latest open period when no day is given). */
async function activeId(knex: Knex, today: LocalDate | null = null): Promise<string | null> {
  const ps = await loadPeriods(knex);
  return today ? inForceOn(ps, today) : (ps[ps.length - 1]?.rule_set_id ?? null);
}

function summary(r: Row, active: string | null): RuleSetSummary {
  return { id: r.id, name: r.name, version: r.version, active: r.id === active, effective_from: r.effective_from, preset: r.preset, created_at: r.created_at.toISOString() };
}

/** Every stored rule set; `active`: in force on `today`. */
export async function listRuleSets(knex: Knex, today: LocalDate | null = null): Promise<RuleSetSummary[]> {
  const active = await activeId(knex, today);
  const rows = (await knex('rule_sets').orderBy([{ column: 'name' }, { column: 'version' }])) as Row[];
  return rows.map((r) => summary(r, active));
}

type Definition = Pick<StoredRuleSet, 'id' | 'name' | 'version' | 'definition'>;

/** Stored rule sets' definitions, kept after the first read: rule sets are immutable once stored (one per runtime). */
export class RuleSetCache {
  private readonly definitions = new Map<string, Definition>();

  /** A stored rule set's id, name, version and definition. */
  async definition(knex: Knex, id: string): Promise<Definition> {
    const hit = this.definitions.get(id);
    if (hit) return hit;
    const row = (await knex('rule_sets').where({ id }).first('id', 'name', 'version', 'definition')) as Pick<Row, 'id' | 'name' | 'version' | 'definition'> | undefined;
    if (!row) throw notFound(`no rule set has id ${id}`);
    if (this.definitions.size >= 200) this.definitions.clear();
    this.definitions.set(id, row);
    return row;
  }
}

export async function getRuleSet(knex: Knex, id: string, today: LocalDate | null = null): Promise<StoredRuleSet> {
  const row = (await knex('rule_sets').where({ id }).first()) as Row | undefined;
  if (!row) throw notFound(`no rule set has id ${id}`);
  return { ...summary(row, await activeId(knex, today)), definition: row.definition };
}

/**
 * Stores a definition as the next version of its name. Definitions are immutable; sending
 * one identical to the latest version of its name returns that version (created: false).
 */
export async function createRuleSet(db: Database, def: RuleSet, preset: string | null = null, actor: Actor = 'system'): Promise<{ rule_set: StoredRuleSet; created: boolean }> {
  return db.write(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [ruleSetLockName(def.name)]);
    const latest = (await trx('rule_sets').where({ name: def.name }).orderBy('version', 'desc').first()) as Row | undefined;
    const same = latest
      ? ((await trx.raw<{ rows: { same: boolean }[] }>('SELECT definition = ?::jsonb AS same FROM rule_sets WHERE id = ?', [JSON.stringify(def), latest.id])).rows[0]?.same ?? false)
      : false;
    if (latest && same) {
      await audit(trx, actor, { action: 'rule_set.create', target: latest.id, after: { id: latest.id, created: false } });
      return { rule_set: { ...summary(latest, await activeId(trx)), definition: latest.definition }, created: false };
    }
    const version = (latest?.version ?? 0) + 1;
    const [row] = (await trx('rule_sets')
      .insert({ id: `${def.name}@${version}`, name: def.name, version, definition: JSON.stringify(def), effective_from: def.effective_from ?? null, preset })
      .returning('*')) as Row[];
    await audit(trx, actor, { action: 'rule_set.create', target: (row as Row).id, before: latest ? { latest: latest.id } : null, after: { id: (row as Row).id, created: true, preset, definition: def } });
    return { rule_set: { ...summary(row as Row, await activeId(trx)), definition: (row as Row).definition }, created: true };
  });
}

export async function createFromPreset(db: Database, presetId: string, actor: Actor = 'system'): Promise<{ rule_set: StoredRuleSet; created: boolean }> {
  // own keys only: `toString` or `__proto__` is an unknown preset, not an inherited function
  const def = Object.hasOwn(PRESETS, presetId) ? PRESETS[presetId] : undefined;
  if (!def) {
    throw unprocessable(`unknown preset ${presetId}`, [{ path: 'preset', message: `must be one of ${Object.keys(PRESETS).join(', ')}` }], 'unknown_preset');
  }
  return createRuleSet(db, def, presetId, actor);
}

/**
 * `activation`: the one recorded, or — `unchanged` — the one already putting the set in force
 * on the day asked for (`effective_from` null: in force since always).
 */
export type ActivationResult = { rule_set: StoredRuleSet; activation: { id: number; effective_from: LocalDate | null; activated_at: string }; job: Job | null; unchanged: boolean };

/**
 * Puts a rule set in force from `effectiveFrom` on (domain/rules/timeline.ts): one
 * activation row and its audit row, and — when days from `effectiveFrom` on are already
 * classified — the job that recomputes them (from the first to the last classified day on
 * or after `effectiveFrom`, each day under the set then in force), all in one transaction. Activations are
 * serialised (a lock), so the timeline each one reads is the one it changes.
 *
 * When the set is in force on `effectiveFrom` already, the activation would change no day
 * (it governs the days up to the next activation's, all of them under this set now): nothing
 * is written — no row, no audit entry, no recomputation — and the answer is the activation in
 * force, `unchanged`. A retried or repeated request changes the timeline once.
 */
export async function activateRuleSet(db: Database, id: string, effectiveFrom: LocalDate, actor: Actor = 'system', today: LocalDate | null = null): Promise<ActivationResult> {
  const knex = db.knex;
  await getRuleSet(knex, id);
  const { activation, job, unchanged } = await db.write(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [RULE_SET_TIMELINE_LOCK]);
    const before = await loadPeriods(trx);
    const previous = inForceOn(before, effectiveFrom);
    if (previous === id) {
      const held = periodOn(before, effectiveFrom) as Period;
      return { activation: { id: held.activation_id, effective_from: held.effective_from, activated_at: held.activated_at }, job: null, unchanged: true };
    }
    const [row] = (await trx('rule_set_activations').insert({ rule_set_id: id, effective_from: effectiveFrom }).returning(['id', 'activated_at'])) as { id: number; activated_at: Date }[];
    // the classified days from then on (from the first of them: an early date costs nothing)
    const span = (await trx('level_chunks').where('date', '>=', effectiveFrom).select(trx.raw('min(date)::text AS first, max(date)::text AS last')))[0] as { first: LocalDate | null; last: LocalDate | null } | undefined;
    const queued = span?.first && span.last ? (await enqueueIn(trx, { from: span.first, to: span.last, trigger: 'rule_set_activation', maxAttempts: AUTOMATIC_ATTEMPTS })).job : null;
    const made = { id: Number((row as { id: number }).id), effective_from: effectiveFrom, activated_at: (row as { activated_at: Date }).activated_at.toISOString() };
    await audit(trx, actor, {
      action: 'rule_set.activate',
      target: id,
      before: { active: previous, effective_from: effectiveFrom },
      after: { active: id, effective_from: effectiveFrom, activation: made.id, recompute_job: queued ? Number(queued.id) : null },
    });
    return { activation: made, job: queued, unchanged: false };
  });
  return { rule_set: await getRuleSet(knex, id, today), activation, job, unchanged };
}

/** The timeline's periods as recorded at `asOf` (null: now), with their rule sets' names and versions. */
export async function ruleSetTimeline(knex: Knex, asOf: Date | null) {
  const ps: Period[] = await loadPeriods(knex, asOf);
  const ids = [...new Set(ps.map((p) => p.rule_set_id))];
  const rows = (await knex('rule_sets').whereIn('id', ids).select('id', 'name', 'version')) as { id: string; name: string; version: number }[];
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ps.map((p) => ({
    rule_set: byId.get(p.rule_set_id) ?? { id: p.rule_set_id, name: p.rule_set_id, version: 0 },
    effective_from: p.effective_from,
    effective_to: p.effective_to,
    activated_at: p.activated_at,
  }));
}

export function presetList(): { id: string; name: string; title: string | null; description: string | null; source: string | null; effective_from: string | null; definition: unknown }[] {
  return Object.entries(PRESETS).map(([id, def]) => ({
    id,
    name: def.name,
    title: def.title ?? null,
    description: def.description ?? null,
    source: def.source ?? null,
    effective_from: def.effective_from ?? null,
    definition: PRESET_INPUTS[id],
  }));
}
