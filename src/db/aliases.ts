import { Knex } from 'knex';
import type { Actor } from './audit';
import { audit } from './audit';
import type { Database } from './database';
import { forbidden, notFound } from '../errors';
import type { NameAlias, NameArea } from '../domain/names';

/**
 * Names of areas (migration 15): what name resolution reads — every area's name, kind and
 * parent, and the aliases users confirmed — and the aliases themselves. SQL for
 * `area_aliases` lives here only.
 */
export type AliasRecord = { id: number; alias: string; created_at: string; created_by: string };

/** Everything a NameIndex is built from: the areas (with parents by code) and the confirmed aliases. */
export async function namesForResolution(knex: Knex): Promise<{ areas: NameArea[]; aliases: NameAlias[] }> {
  const areas = await knex.raw<{ rows: NameArea[] }>(
    'SELECT a.code, a.name, a.kind, p.code AS parent, a.valid_from::text AS valid_from, a.valid_to::text AS valid_to FROM areas a LEFT JOIN areas p ON p.id = a.parent_id',
  );
  const aliases = await knex.raw<{ rows: NameAlias[] }>('SELECT a.code, x.alias FROM area_aliases x JOIN areas a ON a.id = x.area_id');
  return { areas: areas.rows, aliases: aliases.rows };
}

async function areaIdOf(knex: Knex, code: string): Promise<number> {
  const row = await knex('areas').where('code', code).first<{ id: number } | undefined>('id');
  if (!row) throw notFound(`no area ${code}`);
  return row.id;
}

async function checkScope(knex: Knex, id: number, code: string, scope: number[]): Promise<void> {
  const inside = await knex.raw<{ rows: unknown[] }>('SELECT 1 FROM area_tree WHERE descendant = ? AND ancestor = ANY(?::int[]) LIMIT 1', [id, scope]);
  if (inside.rows.length === 0) throw forbidden(`area ${code} is outside this key's scope`, [{ path: 'code', message: "outside the key's areas" }]);
}

/** 404 for an unknown area, 403 for one outside a reporter key's `scope` (null: any area). */
export async function checkAliasTarget(knex: Knex, code: string, scope: number[] | null): Promise<void> {
  const id = await areaIdOf(knex, code);
  if (scope) await checkScope(knex, id, code, scope);
}

export async function listAliases(knex: Knex, code: string): Promise<AliasRecord[]> {
  const id = await areaIdOf(knex, code);
  const rows = await knex('area_aliases').where('area_id', id).orderBy('id').select<(Omit<AliasRecord, 'created_at'> & { created_at: Date })[]>('id', 'alias', 'created_at', 'created_by');
  return rows.map((r) => ({ ...r, created_at: r.created_at.toISOString() }));
}

/**
 * Adds confirmed names of an area, all or nothing; `keyOf` gives each its comparison key. An
 * alias whose key the area has already is unchanged. Answers how many were added. `scope`:
 * a reporter key's areas — the area must be one of them or below one (else 403).
 */
export async function addAliases(db: Database, code: string, aliases: string[], keyOf: (alias: string) => string, actor: Actor, scope: number[] | null = null): Promise<{ added: number; unchanged: number }> {
  return db.write(async (trx) => {
    const id = await areaIdOf(trx, code);
    if (scope) await checkScope(trx, id, code, scope);
    const res = await trx.raw<{ rowCount: number | null }>(
      `INSERT INTO area_aliases (area_id, alias, alias_key, created_by)
       SELECT ?, t.alias, t.alias_key, ? FROM unnest(?::text[], ?::text[]) AS t(alias, alias_key)
       ON CONFLICT (area_id, alias_key) DO NOTHING`,
      [id, actor, aliases, aliases.map(keyOf)],
    );
    const added = res.rowCount ?? 0;
    if (added > 0) await audit(trx, actor, { action: 'aliases.add', target: code, areas: [code], after: { aliases } });
    return { added, unchanged: aliases.length - added };
  });
}

/** Removes one alias of an area (404 when it has no such alias). */
export async function removeAlias(db: Database, code: string, aliasId: number, actor: Actor): Promise<void> {
  await db.write(async (trx) => {
    const id = await areaIdOf(trx, code);
    const gone = await trx('area_aliases').where({ id: aliasId, area_id: id }).delete().returning<{ alias: string }[]>('alias');
    if (gone.length === 0) throw notFound(`area ${code} has no alias ${aliasId}`);
    await audit(trx, actor, { action: 'aliases.remove', target: code, areas: [code], before: { alias: gone[0]?.alias } });
  });
}
