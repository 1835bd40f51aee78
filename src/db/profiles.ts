import { Knex } from 'knex';
import type { Actor } from './audit';
import { audit } from './audit';
import type { Database } from './database';
import type { ImportKind } from './imports';

/**
 * Named import profiles (migration 15): which attribute of a boundary file, or which column
 * of a spreadsheet, is which. SQL for `import_profiles` lives here only; the maps are checked
 * by the caller (services/imports.ts) before they are stored.
 */
export type ProfileRecord = { name: string; kind: ImportKind; map: Record<string, string>; options: Record<string, string>; updated_at: string; updated_by: string };

type Row = Omit<ProfileRecord, 'updated_at'> & { updated_at: Date };
const toRecord = (r: Row): ProfileRecord => ({ ...r, updated_at: r.updated_at.toISOString() });

export async function listProfiles(knex: Knex): Promise<ProfileRecord[]> {
  return ((await knex('import_profiles').orderBy('name').select('*')) as Row[]).map(toRecord);
}

export async function getProfile(knex: Knex, name: string): Promise<ProfileRecord | null> {
  const row = await knex('import_profiles').where('name', name).first<Row | undefined>('*');
  return row ? toRecord(row) : null;
}

/** Creates or replaces a profile; answers whether it was new. */
export async function saveProfile(db: Database, p: { name: string; kind: ImportKind; map: Record<string, string>; options: Record<string, string> }, actor: Actor): Promise<{ created: boolean }> {
  return db.write(async (trx) => {
    const before = await trx('import_profiles').where('name', p.name).first<Row | undefined>('*');
    await trx.raw(
      `INSERT INTO import_profiles (name, kind, map, options, updated_by) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, map = EXCLUDED.map, options = EXCLUDED.options, updated_at = now(), updated_by = EXCLUDED.updated_by`,
      [p.name, p.kind, JSON.stringify(p.map), JSON.stringify(p.options), actor],
    );
    await audit(trx, actor, { action: 'profiles.save', target: p.name, before: before ? { kind: before.kind, map: before.map, options: before.options } : null, after: { kind: p.kind, map: p.map, options: p.options } });
    return { created: !before };
  });
}

export async function deleteProfile(db: Database, name: string, actor: Actor): Promise<boolean> {
  return db.write(async (trx) => {
    const gone = await trx('import_profiles').where('name', name).delete().returning<Row[]>('*');
    if (gone.length) await audit(trx, actor, { action: 'profiles.delete', target: name, before: { kind: gone[0]?.kind, map: gone[0]?.map } });
    return gone.length > 0;
  });
}
