import { Knex } from 'knex';
import type { Actor } from './audit';

/**
 * Import batches (migration 15): one row per import of areas, reports or indicators, written
 * in the import's own transaction — a refused import leaves no batch, as it leaves no row.
 * SQL for `import_batches` lives here only.
 */
export type ImportKind = 'areas' | 'reports' | 'metrics';

/** What the caller knows of the file before reading it. */
export type BatchSource = {
  kind: ImportKind;
  fileName: string | null;
  /** The file's SHA-256 (hex); a function when it is known only once the file has been read (a stream). */
  sha256: string | (() => string);
  bytes: number;
  format: string;
  profile: string | null;
};

/** How an answer names its batch: `same_as` is the first earlier import of the same content. */
export type BatchRef = { id: number; same_as: number | null };

export type ImportRecord = {
  id: number;
  kind: ImportKind;
  actor: string;
  at: string;
  file_name: string | null;
  content_sha256: string;
  bytes: number;
  format: string;
  profile: string | null;
  rows: number | null;
  result: unknown;
  same_as: number | null;
};

/**
 * Opens the batch of the write running in `trx`: records it and sets the transaction's
 * `zonerisk.import_id`, which every fact, area and audit row written after takes as its
 * `import_id`. The same kind and content imported before (its first batch) is `same_as`.
 */
export async function openBatch(trx: Knex.Transaction, actor: Actor, src: BatchSource): Promise<BatchRef> {
  const known = typeof src.sha256 === 'string' ? src.sha256 : null;
  const res = await trx.raw<{ rows: { id: string; same_as: string | null }[] }>(
    `INSERT INTO import_batches (kind, actor, file_name, content_sha256, bytes, format, profile, same_as)
     VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT min(id) FROM import_batches WHERE kind = ? AND content_sha256 = ?))
     RETURNING id, same_as`,
    // a streamed file's hash is written when it has been read (closeBatch)
    [src.kind, actor, src.fileName, known ?? PENDING_SHA256, src.bytes, src.format, src.profile, src.kind, known ?? ''],
  );
  const row = res.rows[0] as { id: string; same_as: string | null };
  await trx.raw("SELECT set_config('zonerisk.import_id', ?, true)", [row.id]);
  return { id: Number(row.id), same_as: row.same_as === null ? null : Number(row.same_as) };
}

/** Stands for a streamed file's hash until it has been read. */
const PENDING_SHA256 = '0'.repeat(64);

/**
 * Records what the batch did (rows read, and the import's answer) and, for a streamed file,
 * its hash and the earlier import of the same content; answers the batch as it now stands.
 */
export async function closeBatch(trx: Knex.Transaction, ref: BatchRef, rows: number, result: unknown, src: BatchSource): Promise<BatchRef> {
  let same = ref.same_as;
  if (typeof src.sha256 === 'function') {
    const sha = src.sha256();
    const res = await trx.raw<{ rows: { same_as: string | null }[] }>(
      `UPDATE import_batches b SET content_sha256 = ?,
              same_as = (SELECT min(id) FROM import_batches o WHERE o.kind = b.kind AND o.content_sha256 = ? AND o.id < b.id)
       WHERE id = ? RETURNING same_as`,
      [sha, sha, ref.id],
    );
    const s = res.rows[0]?.same_as ?? null;
    same = s === null ? null : Number(s);
  }
  const done = { id: ref.id, same_as: same };
  await trx.raw('UPDATE import_batches SET rows = ?, result = ? WHERE id = ?', [rows, JSON.stringify({ ...(result as object), import: done }), ref.id]);
  await trx.raw("SELECT set_config('zonerisk.import_id', '', true)");
  return done;
}

export type ImportsQuery = { kind?: ImportKind | undefined; limit: number; cursor?: number | undefined };

/** Newest first; `cursor` continues after the last id of a page. */
export async function listImports(knex: Knex, q: ImportsQuery): Promise<{ items: ImportRecord[]; next_cursor: number | null }> {
  const query = knex('import_batches')
    .select('id', 'kind', 'actor', 'at', 'file_name', 'content_sha256', 'bytes', 'format', 'profile', 'rows', 'result', 'same_as')
    .orderBy('id', 'desc')
    .limit(q.limit + 1);
  if (q.kind) query.where('kind', q.kind);
  if (q.cursor !== undefined) query.where('id', '<', q.cursor);
  type Row = Omit<ImportRecord, 'id' | 'at' | 'bytes' | 'same_as'> & { id: string; at: Date; bytes: string; same_as: string | null };
  const rows = (await query) as Row[];
  const more = rows.length > q.limit;
  const items = rows.slice(0, q.limit).map((r) => ({ ...r, id: Number(r.id), at: r.at.toISOString(), bytes: Number(r.bytes), same_as: r.same_as === null ? null : Number(r.same_as) }));
  return { items, next_cursor: more ? (items[items.length - 1]?.id ?? null) : null };
}

/** One batch, or null. */
export async function getImport(knex: Knex, id: number): Promise<ImportRecord | null> {
  const page = await knex('import_batches').where('id', id).first<(ImportRecord & { at: Date; bytes: string; same_as: string | null; id: string }) | undefined>();
  if (!page) return null;
  return { ...page, id: Number(page.id), at: page.at.toISOString(), bytes: Number(page.bytes), same_as: page.same_as === null ? null : Number(page.same_as) };
}
