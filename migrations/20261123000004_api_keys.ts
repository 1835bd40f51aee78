import { Knex } from 'knex';

/**
 * API keys: a key is `zr_<prefix>_<secret>`; the prefix finds the row, the secret is kept
 * only as a salted SHA-256 (the secret is 192 random bits, so a slow KDF would add nothing
 * but latency). A reporter's scope is a set of areas; it covers their whole subtrees.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE api_keys (
      id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      prefix       text NOT NULL UNIQUE CHECK (prefix ~ '^[a-z0-9]{8}$'),
      salt         bytea NOT NULL CHECK (length(salt) = 16),
      hash         bytea NOT NULL CHECK (length(hash) = 32),
      role         text NOT NULL CHECK (role IN ('reader', 'reporter', 'admin')),
      name         text CHECK (length(name) <= 200),
      created_at   timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      revoked_at   timestamptz
    )`);
  await knex.raw(`
    CREATE TABLE api_key_scopes (
      key_id  integer NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
      area_id integer NOT NULL REFERENCES areas (id),
      PRIMARY KEY (key_id, area_id)
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS api_key_scopes, api_keys');
}
