import { createHash } from 'node:crypto';
import type { Actor } from '../db/audit';
import type { ImportAreasResult } from '../db/areas';
import { BatchSource, ImportKind, listImports, ImportsQuery } from '../db/imports';
import { areasFromFeatureCollectionAsync } from '../geo/features';
import type { Runtime } from '../runtime';
import { storeAreas } from './areas';

/**
 * Imports as batches: what a file is (its SHA-256, size, format, the profile read with), and
 * the list of imports. The stages of an import are named after what they do: read the file
 * (geo/formats, ingest/table), resolve names (domain/names), check (geo/features,
 * ingest/ingest), store (db/areas, db/facts).
 */
export function batchOf(kind: ImportKind, bytes: Buffer, format: string, fileName: string | null, profile: string | null): BatchSource {
  return { kind, fileName, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, format, profile };
}

export function imports(rt: Runtime, q: ImportsQuery) {
  return listImports(rt.db.read, q);
}

/** An areas import: the file's features (GeoJSON already parsed), checked, repaired on request, stored as one batch. */
export async function importAreaFeatures(rt: Runtime, body: unknown, batch: BatchSource, actor: Actor, repair: boolean): Promise<ImportAreasResult> {
  const input = await areasFromFeatureCollectionAsync(body, { repair }); // lets other requests run while a large import is checked
  return storeAreas(rt, input, actor, { repair, batch });
}
