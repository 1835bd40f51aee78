import { Knex } from 'knex';

/**
 * The override history: ending an override keeps the days it covered, withdrawing one
 * entered by mistake is an explicit act — and both stay readable as known before.
 *
 * An override is now a series of versions (rows) sharing its public id, `override_id`; the
 * version in force as known at T is the one with `created_at` ≤ T < `ended_at` (null: still
 * in force), exactly as before. Ending an override (DELETE …/overrides/{id}) closes its
 * version (`ended_at` = now) and appends one with the same public id, the same decision and
 * the shortened period, `kind = 'end'` and `created_at` = the same instant: as known before,
 * it covers its original period; from then on, up to its last day. An override ended before
 * its first day keeps a version whose `date_until` is the day before its `date_from` (it
 * covers nothing; the only empty period allowed). Withdrawing one closes its version with
 * `withdrawn_reason`, and no version follows.
 *
 * Rows written before: `override_id` = their own id; one that the old DELETE had closed
 * (then erased from every latest read) reads as withdrawn, as it read.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE overrides ADD COLUMN override_id bigint');
  await knex.raw('UPDATE overrides SET override_id = id');
  await knex.raw('ALTER TABLE overrides ALTER COLUMN override_id SET NOT NULL');
  await knex.raw(`ALTER TABLE overrides ADD COLUMN kind text NOT NULL DEFAULT 'set' CHECK (kind IN ('set', 'end'))`);
  await knex.raw('ALTER TABLE overrides ADD COLUMN withdrawn_reason text CHECK (length(withdrawn_reason) BETWEEN 1 AND 1000)');
  await knex.raw(
    `UPDATE overrides SET withdrawn_reason = 'Kết thúc trước khi lưu lịch sử quyết định (đã xóa) — ended before overrides kept their history (erased)' WHERE ended_at IS NOT NULL`,
  );
  await knex.raw('ALTER TABLE overrides ADD CONSTRAINT overrides_withdrawn_closed CHECK (withdrawn_reason IS NULL OR ended_at IS NOT NULL)');
  await knex.raw('ALTER TABLE overrides DROP CONSTRAINT overrides_check');
  await knex.raw(
    `ALTER TABLE overrides ADD CONSTRAINT overrides_period CHECK (date_until >= date_from OR (kind = 'end' AND date_until = date_from - 1))`,
  );
  await knex.raw('CREATE INDEX overrides_public_id ON overrides (override_id, created_at)');
}

/** Back to one row per override: end versions are dropped, so an ended override reads as erased (the old model). */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DELETE FROM overrides WHERE kind = 'end'`);
  await knex.raw('DROP INDEX overrides_public_id');
  await knex.raw('ALTER TABLE overrides DROP CONSTRAINT overrides_period');
  await knex.raw('ALTER TABLE overrides DROP CONSTRAINT overrides_withdrawn_closed');
  await knex.raw('ALTER TABLE overrides ADD CONSTRAINT overrides_check CHECK (date_until >= date_from)');
  await knex.raw('ALTER TABLE overrides DROP COLUMN withdrawn_reason');
  await knex.raw('ALTER TABLE overrides DROP COLUMN kind');
  await knex.raw('ALTER TABLE overrides DROP COLUMN override_id');
}
