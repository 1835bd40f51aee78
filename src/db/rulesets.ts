import { Knex } from 'knex';
import { RuleSet } from '../domain/rules/definition';
import { PRESET_INPUTS, PRESETS } from '../domain/rules/presets';
import { notFound, unprocessable } from '../errors';
import { Actor, audit } from './audit';
import type { Database } from './database';
import { ruleSetLockName } from './locks';

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

async function activeId(knex: Knex): Promise<string | null> {
  const row = await knex('rule_set_activations').orderBy('id', 'desc').first<{ rule_set_id: string } | undefined>('rule_set_id');
  return row?.rule_set_id ?? null;
}

function summary(r: Row, active: string | null): RuleSetSummary {
  return { id: r.id, name: r.name, version: r.version, active: r.id === active, effective_from: r.effective_from, preset: r.preset, created_at: r.created_at.toISOString() };
}

export async function listRuleSets(knex: Knex): Promise<RuleSetSummary[]> {
  const active = await activeId(knex);
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

export async function getRuleSet(knex: Knex, id: string): Promise<StoredRuleSet> {
  const row = (await knex('rule_sets').where({ id }).first()) as Row | undefined;
  if (!row) throw notFound(`no rule set has id ${id}`);
  return { ...summary(row, await activeId(knex)), definition: row.definition };
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

export async function activateRuleSet(db: Database, id: string, actor: Actor = 'system'): Promise<StoredRuleSet> {
  const knex = db.knex;
  await getRuleSet(knex, id);
  await db.write(async (trx) => {
    const previous = await activeId(trx);
    await trx('rule_set_activations').insert({ rule_set_id: id });
    await audit(trx, actor, { action: 'rule_set.activate', target: id, before: { active: previous }, after: { active: id } });
  });
  return getRuleSet(knex, id);
}

/** The set recomputation uses; null before any activation. */
export async function activeRuleSet(knex: Knex): Promise<StoredRuleSet | null> {
  const id = await activeId(knex);
  return id ? getRuleSet(knex, id) : null;
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
