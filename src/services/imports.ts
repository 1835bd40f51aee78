import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { Actor } from '../db/audit';
import type { Database } from '../db/database';
import type { ImportAreasResult } from '../db/areas';
import { addAliases, checkAliasTarget, listAliases, namesForResolution, removeAlias } from '../db/aliases';
import { BatchSource, getImport, ImportKind, ImportsQuery, listImports } from '../db/imports';
import { deleteProfile, getProfile, listProfiles, ProfileRecord, saveProfile } from '../db/profiles';
import { nameKey, nameKeyVariants, NameIndex } from '../domain/names';
import { AppError, badRequest, conflict, notFound, unprocessable } from '../errors';
import { AreaInput, areasFromFeatureCollectionAsync } from '../geo/features';
import { boundaryFormatOf, BoundaryFormat, BoundaryRead, FieldMap, fieldMapSchema, parseFieldMapText, readBoundaryFileInWorker } from '../geo/formats';
import { FactsInput, IngestBy, utf8Refusal } from '../ingest/ingest';
import { NameFindings, SLICE_MS } from '../ingest/names';
import { ColumnMap, columnMapSchema, isCanonicalCsv, looksWindows1258, normaliseTable, parseColumnMapText, RowNames, sniffTable } from '../ingest/table';
import type { Runtime } from '../runtime';
import { storeAreas, storeMetrics, storeReports } from './areas';
import { issueText } from '../domain/issues';

/**
 * Imports, whole: read the file in the form it comes in (boundary files: geo/formats;
 * spreadsheets: ingest/table), resolve the names it gives instead of codes (domain/names,
 * ingest/names), check and store it (geo/features + db/areas; ingest + db/facts) as one
 * batch (db/imports) — or, for a dry run, answer what would be resolved and write nothing.
 */
export function batchOf(kind: ImportKind, bytes: Buffer, format: string, fileName: string | null, profile: string | null): BatchSource {
  return { kind, fileName, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, format, profile };
}

export function imports(rt: Runtime, q: ImportsQuery) {
  return listImports(rt.db.read, q);
}

export async function importRecord(rt: Runtime, id: number) {
  const found = await getImport(rt.db.read, id);
  if (!found) throw notFound(`no import ${id}`);
  return found;
}

// ---------------------------------------------------------------------------------------
// profiles

/** Profiles shipped with zonerisk (read-only; a saved profile of the same name is refused). */
export const BUILT_IN_PROFILES: readonly Omit<ProfileRecord, 'updated_at' | 'updated_by'>[] = [
  // GSO (Tổng cục Thống kê) commune boundary files: Com_ID, Ten_Xa, Dis_ID (the district's code), Dan_So
  { name: 'gso-communes', kind: 'areas', map: { code: 'Com_ID', name: 'Ten_Xa', parent: 'Dis_ID', population: 'Dan_So', kind_value: 'commune' }, options: {} },
  { name: 'gso-districts', kind: 'areas', map: { code: 'Dis_ID', name: 'Ten_Huyen', parent: 'Pro_ID', population: 'Dan_So', kind_value: 'district' }, options: {} },
];

const builtIn = (name: string) => BUILT_IN_PROFILES.find((p) => p.name === name) ?? null;

export async function profiles(rt: Runtime) {
  const saved = await listProfiles(rt.db.read);
  return { items: [...BUILT_IN_PROFILES.map((p) => ({ ...p, built_in: true })), ...saved.map((p) => ({ ...p, built_in: false }))] };
}

async function profileIn(db: Database, name: string) {
  const p = builtIn(name) ?? (await getProfile(db.read, name));
  if (!p) {
    const known = [...BUILT_IN_PROFILES.map((b) => b.name), ...(await listProfiles(db.read)).map((x) => x.name)];
    throw new AppError(404, 'not_found', `Không có hồ sơ nhập ${name} — no import profile ${name} (known: ${known.join(', ')})`, [{ path: 'profile', message: `one of ${known.join(', ')}` }]);
  }
  return p;
}

export function profile(rt: Runtime, name: string) {
  return profileIn(rt.db, name);
}

/** Checks a map for its kind: a field map for boundary files, a column map for spreadsheets. */
function checkMap(kind: ImportKind, map: unknown): Record<string, string> {
  const parsed = kind === 'areas' ? fieldMapSchema.safeParse(map, { error: issueText }) : columnMapSchema.safeParse(map, { error: issueText });
  if (!parsed.success) throw unprocessable('Bảng ánh xạ không hợp lệ — the map is not valid', parsed.error.issues.map((i) => ({ path: ['map', ...i.path].join('.'), message: i.message })), 'invalid_profile');
  return parsed.data as Record<string, string>;
}

export async function storeProfile(rt: Runtime, body: { name: string; kind: ImportKind; map: unknown }, actor: Actor) {
  if (builtIn(body.name)) throw badRequest(`${body.name} is a built-in profile: choose another name`, [{ path: 'name', message: 'built-in' }], 'built_in_profile');
  const map = checkMap(body.kind, body.map);
  const { created } = await saveProfile(rt.db, { name: body.name, kind: body.kind, map, options: {} }, actor);
  return { created, profile: await profile(rt, body.name) };
}

export async function removeProfile(rt: Runtime, name: string, actor: Actor) {
  if (builtIn(name)) throw badRequest(`${name} is a built-in profile and cannot be deleted`, [{ path: 'name', message: 'built-in' }], 'built_in_profile');
  if (!(await deleteProfile(rt.db, name, actor))) throw notFound(`no import profile ${name}`);
}

/** The map an import reads with: given inline, or a named profile's (of the right kind). */
async function mapFor(db: Database, kind: ImportKind, profileName: string | undefined, inline: Record<string, string> | undefined): Promise<Record<string, string> | undefined> {
  if (profileName !== undefined && inline !== undefined) throw badRequest('give profile or an inline map, not both', [{ path: 'profile', message: 'not with an inline map' }]);
  if (profileName === undefined) return inline;
  const p = await profileIn(db, profileName);
  const fits = kind === 'areas' ? p.kind === 'areas' : p.kind !== 'areas';
  if (!fits) throw unprocessable(`profile ${profileName} is for ${p.kind}, not ${kind}`, [{ path: 'profile', message: `a ${p.kind} profile` }], 'invalid_profile');
  return p.map;
}

// ---------------------------------------------------------------------------------------
// areas

export type AreaUpload = { contentType: string; bytes: Buffer; parsed?: unknown };
export type AreaImportOptions = { repair: boolean; profile?: string | undefined; fields?: string | undefined; crs?: string | undefined; layer?: string | undefined; fileName: string | null };

/** Does a parsed GeoJSON body need the reader (a field map, a CRS given or declared)? */
const needsReader = (parsed: unknown, map: FieldMap | undefined, crs: string | undefined) =>
  map !== undefined || crs !== undefined || (typeof parsed === 'object' && parsed !== null && 'crs' in parsed);

/**
 * A boundary file read and checked: any format geo/formats reads (GeoJSON, zipped Shapefile,
 * GeoPackage, KML/KMZ), transformed to EPSG:4326, its attributes mapped (`fields` or a
 * profile), each feature checked (kept for repair on request), and the batch it makes. A
 * plain GeoJSON body already parsed by the body parser is used as it is.
 */
export async function readAreaFile(db: Database, upload: AreaUpload, o: AreaImportOptions): Promise<{ areas: AreaInput[]; batch: BatchSource; source?: BoundaryRead['source'] }> {
  const format: BoundaryFormat | null = boundaryFormatOf(upload.contentType, upload.bytes);
  if (format === null) {
    throw new AppError(415, 'unsupported_media_type', 'Tệp không phải định dạng ranh giới đã biết — the body is not a boundary file zonerisk reads (GeoJSON, zipped Shapefile, GeoPackage, KML, KMZ)', [{ path: 'Content-Type', message: 'a boundary file type, and the file it says' }]);
  }
  const fieldMap = (await mapFor(db, 'areas', o.profile, o.fields === undefined ? undefined : parseFieldMapText(o.fields))) as FieldMap | undefined;
  const batch = batchOf('areas', upload.bytes, format, o.fileName, o.profile ?? null);
  if (format === 'geojson' && upload.parsed !== undefined && !needsReader(upload.parsed, fieldMap, o.crs)) {
    return { areas: await areasFromFeatureCollectionAsync(upload.parsed, { repair: o.repair }), batch };
  }
  const read = await readBoundaryFileInWorker(upload.bytes, format, { ...(fieldMap ? { fieldMap } : {}), ...(o.crs ? { crs: o.crs } : {}), ...(o.layer ? { layer: o.layer } : {}) });
  // lets other requests run while a large import is checked
  return { areas: await areasFromFeatureCollectionAsync(read, { repair: o.repair }), batch, source: read.source };
}

/** An areas import: the file read (readAreaFile), repaired on request, stored as one batch; the answer says what was read. */
export async function importAreaFile(rt: Runtime, upload: AreaUpload, o: AreaImportOptions, actor: Actor): Promise<ImportAreasResult & { source?: BoundaryRead['source'] }> {
  const { areas, batch, source } = await readAreaFile(rt.db, upload, o);
  const result = await storeAreas(rt, areas, actor, { repair: o.repair, batch });
  return source === undefined ? result : { ...result, source };
}

// ---------------------------------------------------------------------------------------
// reports and indicators

export type FactKind = 'reports' | 'metrics';
/** A fact upload: a JSON body's rows (parsed), or a CSV/XLSX body's bytes. */
export type FactUpload = { contentType: string; bytes: Buffer; rows?: unknown[] };
export type FactImportOptions = { dryRun: boolean; profile?: string | undefined; columns?: string | undefined; fileName: string | null };

async function nameFindings(db: Database): Promise<NameFindings> {
  const { areas, aliases } = await namesForResolution(db.knex);
  return new NameFindings(new NameIndex(areas, aliases), new Set(areas.map((a) => a.code)));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/**
 * JSON rows that name their area: each gets `area` from the resolved name (area_name and
 * parent_name dropped); a row given by name that does not resolve is left out (and kept in
 * `found`). Rows that are not objects, or give `area`, pass as they are (the schema judges them).
 */
async function resolveJsonNames(rows: unknown[], found: NameFindings, inspect: boolean): Promise<unknown[]> {
  const out: unknown[] = [];
  let slice = performance.now();
  for (let i = 0; i < rows.length; i++) {
    out.push(...resolveJsonRow(rows[i], i, found, inspect));
    // unknown names cost a near-name search each: other requests run meanwhile
    if ((i & 255) === 255 && performance.now() - slice > SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
  return out;
}

function resolveJsonRow(row: unknown, i: number, found: NameFindings, inspect: boolean): unknown[] {
  {
    if (!isObject(row) || !('area_name' in row)) {
      if (inspect && isObject(row) && typeof row.area === 'string') found.code(i, row.area);
      return [row];
    }
    const { area_name, parent_name, ...rest } = row;
    if (typeof rest.area === 'string' && rest.area !== '') return [inspect ? (found.code(i, rest.area), rest) : rest];
    const name = text(area_name);
    if (name === null) return [rest]; // the schema names the missing area
    const code = found.name(i, name, text(parent_name), typeof rest.date === 'string' ? rest.date : null);
    return code === null ? [] : [{ ...rest, area: code }];
  }
}

/**
 * A body in pieces of 16 KiB, as a stream would give it: the normaliser works piece by piece
 * (and lets other requests run between them — an unknown name costs a near-name search).
 */
async function* chunksOf(bytes: Buffer): AsyncGenerator<Buffer> {
  let slice = performance.now();
  for (let i = 0; i < bytes.length; i += 16 * 1024) {
    yield bytes.subarray(i, i + 16 * 1024);
    if (performance.now() - slice > SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
}

/** Hands on the chunks, then refuses the import if a name did not resolve (inside the ingest's transaction: nothing is written). */
async function* thenUnresolvedCheck(chunks: AsyncIterable<Buffer>, found: NameFindings): AsyncGenerator<Buffer> {
  yield* chunks;
  const e = found.unresolvedError((row) => `line[${row}].area_name`);
  if (e) throw e;
}

/** What a dry run answers (CONTRACT: rows, resolved, unresolved), or what the ingest is to store. */
export type FactsRead = { dryRun: ReturnType<NameFindings['answer']> } | { input: FactsInput; batch: BatchSource };

/**
 * Reports or indicators from a JSON body, a CSV in its Vietnamese-Excel forms, or an XLSX,
 * made ready for the ingest. A canonical CSV by codes goes to it untouched (the bulk path);
 * anything else is normalised to it (ingest/table), and rows that name their area are
 * resolved (ingest/names). `dryRun`: reads the whole file, resolves every name and answers
 * what it found. Otherwise an unresolved name makes the ingest refuse the whole import.
 */
export async function readFacts(db: Database, kind: FactKind, upload: FactUpload, o: FactImportOptions): Promise<FactsRead> {
  const inline = o.columns === undefined ? undefined : parseColumnMapText(o.columns);
  const columnMap = (await mapFor(db, kind, o.profile, inline as Record<string, string> | undefined)) as ColumnMap | undefined;
  if (upload.rows !== undefined) {
    const named = o.dryRun || upload.rows.some((r) => isObject(r) && 'area_name' in r);
    const found = named ? await nameFindings(db) : null;
    const rows = found ? await resolveJsonNames(upload.rows, found, o.dryRun) : upload.rows;
    if (o.dryRun) return { dryRun: (found as NameFindings).answer() };
    const e = found?.unresolvedError((row) => `${kind}[${row}].area_name`);
    if (e) throw e;
    return { input: { json: rows }, batch: batchOf(kind, upload.bytes, 'json', o.fileName, o.profile ?? null) };
  }
  const first = upload.bytes.subarray(0, 64 * 1024);
  const dialect = sniffTable(first, upload.contentType);
  const canonical = dialect.format === 'csv' && columnMap === undefined && isCanonicalCsv(first, kind);
  // bytes that are neither UTF-8 nor Vietnamese in Windows-1258 (declared, or reading as it):
  // the ingest refuses them as not UTF-8, naming the line
  const declared1258 = /charset\s*=\s*"?(windows-1258|cp1258)/i.test(upload.contentType);
  const unreadable = dialect.format === 'csv' && !isUtf8(upload.bytes) && !declared1258 && !looksWindows1258(upload.bytes);
  const format = dialect.format === 'xlsx' ? 'xlsx' : `csv${dialect.delimiter === ',' ? '' : dialect.delimiter === ';' ? ';semicolon' : ';tab'}${dialect.encoding === 'utf8' ? '' : ';windows-1258'}`;
  const batch = batchOf(kind, upload.bytes, format, o.fileName, o.profile ?? null);
  if (unreadable && o.dryRun) throw utf8Refusal(upload.bytes) ?? new Error('unreachable: the bytes are not UTF-8');
  if (unreadable || (canonical && !o.dryRun)) return { input: { csv: [upload.bytes] }, batch };
  const found = await nameFindings(db);
  const names: RowNames = { name: (line, name, parent, date) => found.name(line, name, parent, date) };
  if (o.dryRun) names.code = (line, code) => void found.code(line, code);
  const table = normaliseTable(chunksOf(upload.bytes), dialect, kind, columnMap, { names });
  if (o.dryRun) {
    for await (const piece of table) void piece; // read to the end: nothing is written
    return { dryRun: found.answer() };
  }
  return { input: { csv: thenUnresolvedCheck(table, found) }, batch };
}

/** Reports or indicators, read (readFacts) and stored as one batch — queuing the recomputation of the classified days they change — or a dry run's answer. */
export async function importFacts(rt: Runtime, kind: FactKind, upload: FactUpload, o: FactImportOptions, by: IngestBy) {
  const read = await readFacts(rt.db, kind, upload, o);
  if ('dryRun' in read) return read.dryRun;
  return (kind === 'reports' ? storeReports : storeMetrics)(rt, read.input, { ...by, batch: read.batch });
}

// ---------------------------------------------------------------------------------------
// aliases

export async function aliases(rt: Runtime, code: string) {
  return { code, items: await listAliases(rt.db.read, code) };
}

/** Confirms names of an area (a dry run's candidates, as the user chose them): used by name resolution from then on. */
export async function confirmAliases(rt: Runtime, code: string, names: string[], actor: Actor, scope: number[] | null) {
  const keyless = names.filter((n) => nameKey(n) === '');
  if (keyless.length) throw unprocessable('an alias must contain letters or digits', keyless.map((n) => ({ path: 'aliases', message: `"${n}" has no name in it` })), 'invalid_alias');
  await checkAliasTarget(rt.db.knex, code, scope);
  // an alias names one area only: never another area's own name or confirmed alias (that would
  // send that area's rows here, or make its name ambiguous) — give the district (parent_name) instead
  const { areas, aliases: confirmed } = await namesForResolution(rt.db.knex);
  // compared in every reading the resolver makes of a name (with the prefix read, taken
  // literally, or read without its accents): "Xa Bảo Bình" is Xã Bảo Bình's name too
  const keys = (text: string) => nameKeyVariants(text).map((v) => v.key).filter((k) => k !== '');
  const taken = new Map<string, string>();
  for (const a of areas) if (a.code !== code) for (const k of keys(a.name)) taken.set(k, `the name of ${a.code} (${a.name})`);
  for (const x of confirmed) if (x.code !== code) for (const k of keys(x.alias)) taken.set(k, `an alias of ${x.code} ("${x.alias}")`);
  const clashes = names.flatMap((n, i) => {
    const other = keys(n).map((k) => taken.get(k)).find((t) => t !== undefined);
    return other ? [{ path: `aliases.${i}`, message: `"${n}" is ${other}: rows naming it give parent_name to tell the areas apart` }] : [];
  });
  if (clashes.length) throw conflict('Tên này đã là tên hoặc tên khác của đơn vị khác — an alias cannot be another area’s name or alias', clashes);
  const r = await addAliases(rt.db, code, names, nameKey, actor, scope);
  return { ...r, ...(await aliases(rt, code)) };
}

export function dropAlias(rt: Runtime, code: string, id: number, actor: Actor) {
  return removeAlias(rt.db, code, id, actor);
}
