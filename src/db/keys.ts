import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Knex } from 'knex';
import { notFound, unprocessable } from '../errors';
import type { Database } from './database';
import type { Actor } from './audit';
import { audit } from './audit';

/** Who is calling: a stored key, or the bootstrap admin key from the environment (id null). */
export type Role = 'reader' | 'reporter' | 'admin';
export const ROLES: readonly Role[] = ['reader', 'reporter', 'admin'];
export type Principal = { keyId: number | null; role: Role; scope: number[] };

export type KeyInfo = { id: number; prefix: string; role: Role; name: string | null; scope: string[]; created_at: string; last_used_at: string | null; revoked_at: string | null };

const KEY_RE = /^zr_([a-z0-9]{8})_([A-Za-z0-9_-]{32})$/;
const hashOf = (salt: Buffer, secret: string) => createHash('sha256').update(salt).update(secret).digest();

/** Equal strings, compared in constant time (both are hashed first, so lengths do not leak). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function prefixChars(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(8), (b) => alphabet[b % 36]).join('');
}

/** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
export async function createKey(db: Database, input: { role: Role; scope: string[]; name?: string | null | undefined }, actor: Actor = 'system'): Promise<KeyInfo & { key: string }> {
  if (input.role === 'reporter' && input.scope.length === 0) {
    throw unprocessable('a reporter key needs a scope', [{ path: 'scope', message: 'name at least one area code (e.g. a district)' }], 'invalid_key');
  }
  if (input.role !== 'reporter' && input.scope.length > 0) {
    throw unprocessable('only reporter keys have a scope', [{ path: 'scope', message: `a ${input.role} key acts on every area` }], 'invalid_key');
  }
  const created = await db.write(async (trx) => {
    const areas = (await trx('areas').whereIn('code', input.scope).select('id', 'code')) as { id: number; code: string }[];
    const missing = input.scope.filter((c) => !areas.some((a) => a.code === c));
    if (missing.length) throw unprocessable('unknown area in the scope', missing.map((c) => ({ path: 'scope', message: `no area has code ${c}` })), 'unknown_area');
    const prefix = prefixChars();
    const secret = randomBytes(24).toString('base64url');
    const salt = randomBytes(16);
    const [row] = (await trx('api_keys').insert({ prefix, salt, hash: hashOf(salt, secret), role: input.role, name: input.name ?? null }).returning('id')) as { id: number }[];
    const id = (row as { id: number }).id;
    if (areas.length) await trx('api_key_scopes').insert(areas.map((a) => ({ key_id: id, area_id: a.id })));
    // never the secret: the prefix identifies the key
    await audit(trx, actor, { action: 'key.create', target: `key:${id}`, areas: input.scope, after: { id, prefix, role: input.role, scope: input.scope, name: input.name ?? null } });
    return { id, key: `zr_${prefix}_${secret}` };
  });
  const info = (await listKeys(db.knex, created.id))[0] as KeyInfo;
  return { ...info, key: created.key };
}

export async function listKeys(knex: Knex, id?: number): Promise<KeyInfo[]> {
  const q = knex('api_keys as k')
    .leftJoin('api_key_scopes as s', 's.key_id', 'k.id')
    .leftJoin('areas as a', 'a.id', 's.area_id')
    .groupBy('k.id')
    .orderBy('k.id')
    .select('k.id', 'k.prefix', 'k.role', 'k.name', 'k.created_at', 'k.last_used_at', 'k.revoked_at', knex.raw("coalesce(array_agg(a.code ORDER BY a.code) FILTER (WHERE a.code IS NOT NULL), '{}') AS scope"));
  if (id !== undefined) q.where('k.id', id);
  const rows = (await q) as { id: number; prefix: string; role: Role; name: string | null; scope: string[]; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }[];
  return rows.map((r) => ({
    id: r.id,
    prefix: r.prefix,
    role: r.role,
    name: r.name,
    scope: r.scope,
    created_at: r.created_at.toISOString(),
    last_used_at: r.last_used_at?.toISOString() ?? null,
    revoked_at: r.revoked_at?.toISOString() ?? null,
  }));
}

export async function revokeKey(db: Database, id: number, actor: Actor = 'system'): Promise<KeyInfo> {
  await db.write(async (trx) => {
    const rows = (await trx('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: trx.fn.now() }).returning('revoked_at')) as { revoked_at: Date }[];
    if (rows.length === 0) throw notFound(`no active key ${id}`);
    await audit(trx, actor, { action: 'key.revoke', target: `key:${id}`, before: { revoked_at: null }, after: { revoked_at: (rows[0] as { revoked_at: Date }).revoked_at.toISOString() } });
  });
  return (await listKeys(db.knex, id))[0] as KeyInfo;
}

/** When each key's last use was last written: at most once a minute per key (not a write per request); one per runtime. */
export class KeyTouches {
  private readonly at = new Map<number, number>();
  /** True when the key's last use is due to be written now (and notes that it is). */
  due(keyId: number, now = Date.now()): boolean {
    if (now - (this.at.get(keyId) ?? 0) <= 60_000) return false;
    if (this.at.size > 100_000) this.at.clear();
    this.at.set(keyId, now);
    return true;
  }
}

/**
 * The principal a bearer token stands for, or null if it is no valid key (unknown,
 * malformed, wrong secret or revoked).
 */
export async function principalFor(knex: Knex, touches: KeyTouches, token: string, adminKey: string | undefined): Promise<Principal | null> {
  if (adminKey && sameSecret(token, adminKey)) return { keyId: null, role: 'admin', scope: [] };
  const m = KEY_RE.exec(token);
  if (!m) return null;
  const row = (await knex('api_keys').where({ prefix: m[1] }).first('id', 'salt', 'hash', 'role', 'revoked_at')) as
    | { id: number; salt: Buffer; hash: Buffer; role: Role; revoked_at: Date | null }
    | undefined;
  if (!row || !timingSafeEqual(hashOf(row.salt, m[2] as string), row.hash) || row.revoked_at) return null;
  const scope = (await knex('api_key_scopes').where({ key_id: row.id }).pluck('area_id')) as number[];
  if (touches.due(row.id)) {
    await knex('api_keys').where({ id: row.id }).update({ last_used_at: knex.fn.now() });
  }
  return { keyId: row.id, role: row.role, scope };
}
