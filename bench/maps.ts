import { once } from 'node:events';
import http from 'node:http';
import { Database } from '../src/db/database';
import { addDays, LocalDate } from '../src/domain/dates';
import { createApp } from '../src/http/app';
import { createRuntime, Runtime } from '../src/runtime';
import { warmMaps } from '../src/services/maps';
import { loadConfig } from '../src/config';
import { benchUrl, Record as Recorder, timed } from './common';

/**
 * The map figures of the national set (zones.geojson, tiles, OGC API items), each next to
 * its floor measured in the same run. (MapServer is not a floor here: `mapserv` is not
 * installed where the benches run.)
 */

/** One HTTP GET against the running app: time, status, body bytes as sent, headers. */
function httpGet(port: number, pathAndQuery: string, headers: Record<string, string> = {}): Promise<{ ms: number; status: number; bytes: number; etag: string }> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const req = http.get({ host: '127.0.0.1', port, path: pathAndQuery, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, status: res.statusCode ?? 0, bytes, etag: String(res.headers.etag ?? '') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** The app of a fresh runtime over `db`, listening on a port of its own. */
async function serve(db: Database, dbName: string): Promise<{ rt: Runtime; port: number; close: () => Promise<void> }> {
  const rt = createRuntime({ ...loadConfig({}), databaseUrl: benchUrl(dbName) }, db);
  const server = createApp(rt).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    rt,
    port,
    close: async () => {
      server.close();
      await rt.close();
    },
  };
}

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;

/** The tile x, y of a point at zoom z (Web Mercator). */
function tileOf(lon: number, lat: number, z: number): [number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)];
}

/**
 * The floor of a tile: PostGIS's own vector tile of the same kind's areas of the day meeting
 * the tile (with its 64-unit buffer), each with code, name, kind, parent, level (an
 * override's, else the latest computed), since and population — ST_AsMVT of
 * ST_AsMVTGeom(geom, ST_TileEnvelope(z, x, y), 4096, 64).
 */
async function floorTile(db: Database, date: LocalDate, z: number, x: number, y: number): Promise<{ ms: number; bytes: number }> {
  const t = await timed(() =>
    db.knex.raw<{ rows: { mvt: Buffer | null }[] }>(
      // each commune's level by its key, as before the chunks: a probe of its chunk (migration 25)
      `SELECT ST_AsMVT(t, 'zones', 4096, 'geom') AS mvt FROM (
         SELECT a.code, a.name, a.kind, p.code AS parent, coalesce(o.level, zl.level, 'unknown') AS level, zl.since::text AS since, a.population,
                ST_AsMVTGeom(ST_Transform(a.geom, 3857), ST_TileEnvelope(?, ?, ?), 4096, 64) AS geom
         FROM zonerisk_areas_on(?::date) a
         LEFT JOIN areas p ON p.id = a.parent_id
         LEFT JOIN LATERAL (SELECT level, since FROM zone_levels WHERE chunk = a.id >> 7 AND area_id = a.id AND date = ?::date ORDER BY computed_at DESC LIMIT 1) zl ON true
         LEFT JOIN LATERAL (SELECT level FROM overrides WHERE area_id = a.id AND date_from <= ?::date AND (date_until IS NULL OR date_until >= ?::date) AND ended_at IS NULL ORDER BY created_at DESC LIMIT 1) o ON true
         WHERE a.kind = 'commune' AND a.geom && ST_Transform(ST_TileEnvelope(?, ?, ?, margin => 64.0 / 4096), 4326)
       ) t WHERE t.geom IS NOT NULL`,
      [z, x, y, date, date, date, date, z, x, y],
    ),
  );
  return { ms: t.ms, bytes: t.value.rows[0]?.mvt?.length ?? 0 };
}

/**
 * Built tiles at z8, z10 and z12 next to the ST_AsMVT floor over the same tiles. Built, not
 * kept: every tile of a pass is a distinct z/x/y asked for once, so none is in the route's
 * tile cache (each is made: its zones from the kept day, clipped and encoded in the map
 * worker). One tile of the zoom outside the pass is asked for first, so that the zoom's
 * simplified shapes exist — as on a service after its first tile of that zoom; the day is
 * kept by warmMaps. Tiles and their floors alternate, so both see the same caches.
 */
async function benchTiles(db: Database, port: number, date: LocalDate, label: string, record: Recorder): Promise<void> {
  const points = (
    await db.knex.raw<{ rows: { lon: number; lat: number }[] }>(
      `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM zonerisk_areas_on(?::date) WHERE kind = 'commune' ORDER BY code) x`,
      [date],
    )
  ).rows;
  for (const [z, count] of [[8, 40], [10, 60], [12, 60]] as const) {
    const seen = new Set<string>();
    const tiles: [number, number][] = [];
    // distinct tiles with communes, spread over the country (every k-th commune's tile)
    for (let i = 0; i < points.length && tiles.length < count + 1; i += Math.max(1, Math.floor(points.length / (count * 3)))) {
      const pt = points[i] as { lon: number; lat: number };
      const [x, y] = tileOf(pt.lon, pt.lat, z);
      if (seen.has(`${x}/${y}`)) continue;
      seen.add(`${x}/${y}`);
      tiles.push([x, y]);
    }
    const url = (x: number, y: number) => `/tiles/zones/${z}/${x}/${y}.mvt?date=${date}&kind=commune`;
    const [wx, wy] = tiles.shift() as [number, number];
    await httpGet(port, url(wx, wy));
    const ours: number[] = [];
    const floors: number[] = [];
    let bytes = 0;
    let floorBytes = 0;
    for (const [x, y] of tiles) {
      const f = await floorTile(db, date, z, x, y);
      floors.push(f.ms);
      floorBytes += f.bytes;
      const r = await httpGet(port, url(x, y));
      if (r.status !== 200) throw new Error(`tile ${z}/${x}/${y}: ${r.status}`);
      ours.push(r.ms);
      bytes += r.bytes;
    }
    const ratio = p50(ours) / p50(floors);
    record(
      `maps: built zoom-${z} tiles over communes (${tiles.length} distinct tiles, HTTP)${label}`,
      `p50 ${ms(p50(ours))} vs ST_AsMVT floor p50 ${ms(p50(floors))} = ${ratio.toFixed(2)}×; ${(bytes / tiles.length / 1024).toFixed(1)} KiB a tile vs the floor's ${(floorBytes / tiles.length / 1024).toFixed(1)} KiB`,
      '≤ 1.5× the floor, bytes ≤ the floor\'s',
      ratio <= 1.5 && bytes <= floorBytes,
    );
  }
}

/**
 * p50s of `n` GETs of two URLs taken in turns (so that both see the same load on a shared
 * machine; one warm-up of each first, not counted), with the last answers' numberReturned.
 */
async function pairedP50(port: number, a: string, b: string, n = 31): Promise<[{ ms: number; returned: number }, { ms: number; returned: number }]> {
  const times: [number[], number[]] = [[], []];
  const returned = [-1, -1];
  for (let i = 0; i <= n; i++) {
    for (const [k, path] of [a, b].entries()) {
      const r = await httpGetJson(port, path);
      if (i > 0) (times[k] as number[]).push(r.ms);
      returned[k] = r.body.numberReturned;
    }
  }
  return [
    { ms: p50(times[0]), returned: returned[0] as number },
    { ms: p50(times[1]), returned: returned[1] as number },
  ];
}

type ItemsPage = { numberMatched: number; numberReturned: number; links: { rel: string; href: string }[] };

/** One GET answered with JSON: time and the parsed body. */
async function httpGetJson(port: number, pathAndQuery: string): Promise<{ ms: number; body: ItemsPage }> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const req = http.get({ host: '127.0.0.1', port, path: pathAndQuery }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t) / 1e6;
        if (res.statusCode !== 200) return reject(new Error(`${pathAndQuery}: ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 200)}`));
        resolve({ ms, body: JSON.parse(Buffer.concat(chunks).toString()) as ItemsPage });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * OGC API pages of the communes of `date` without a bbox (limit 1 and 100 at the first,
 * middle and last offsets) next to a bbox request (a province's box) returning as many
 * features, the two asked for in turns (p50 of 31 each: pages of one feature take 2–4 ms, where one
 * pause of the process moves a p50 of 11); then walks of every commune at limit=100 and limit=1000 (following next).
 */
async function benchOgc(db: Database, port: number, date: LocalDate, label: string, record: Recorder): Promise<void> {
  const items = `/ogc/collections/communes/items?datetime=${date}`;
  // a province of about the median number of communes: its box
  const provinces = (
    await db.knex.raw<{ rows: { code: string; x1: number; y1: number; x2: number; y2: number; n: number }[] }>(
      `SELECT p.code, ST_XMin(p.geom) AS x1, ST_YMin(p.geom) AS y1, ST_XMax(p.geom) AS x2, ST_YMax(p.geom) AS y2,
              (SELECT count(*)::int FROM area_tree t JOIN zonerisk_areas_on(?::date) c ON c.id = t.descendant AND c.kind = 'commune' WHERE t.ancestor = p.id AND t.during @> ?::date) AS n
       FROM zonerisk_areas_on(?::date) p WHERE p.kind = 'province' ORDER BY n, p.code`,
      [date, date, date],
    )
  ).rows;
  const box = provinces[Math.floor(provinces.length / 2)];
  if (!box) return;
  const bbox = `&bbox=${box.x1},${box.y1},${box.x2},${box.y2}`;
  const total = (await httpGetJson(port, `${items}&limit=1`)).body.numberMatched;
  for (const limit of [1, 100]) {
    for (const [where, offset] of [['first', 0], ['middle', Math.floor(total / 2)], ['last', total - limit]] as const) {
      const [page, boxed] = await pairedP50(port, `${items}&limit=${limit}&offset=${offset}`, `${items}${bbox}&limit=${limit}`);
      if (page.returned !== boxed.returned) throw new Error(`page returned ${page.returned}, the bbox request ${boxed.returned}`);
      const ratio = page.ms / boxed.ms;
      record(
        `maps: OGC communes page, limit=${limit}, ${where} offset (${offset} of ${total}), no bbox${label}`,
        `p50 ${ms(page.ms)} vs a bbox request (province ${box.code}) of ${boxed.returned} p50 ${ms(boxed.ms)} = ${ratio.toFixed(2)}×`,
        '≤ 1.5× the bbox request',
        ratio <= 1.5,
      );
    }
  }
  const walk = async (limit: number) => {
    const t = process.hrtime.bigint();
    let path: string | null = `${items}&limit=${limit}`;
    let features = 0;
    let pages = 0;
    while (path) {
      const r = await httpGetJson(port, path);
      features += r.body.numberReturned;
      pages++;
      const next = r.body.links.find((l) => l.rel === 'next');
      path = next ? next.href.replace(/^https?:\/\/[^/]+/, '') : null;
    }
    if (features !== total) throw new Error(`a walk at limit=${limit} returned ${features} of ${total}`);
    return { ms: Number(process.hrtime.bigint() - t) / 1e6, pages };
  };
  const w100 = await walk(100);
  const w1000 = await walk(1000);
  const ratio = w100.ms / w1000.ms;
  record(
    `maps: OGC walk of all ${total} communes${label}`,
    `limit=100: ${(w100.ms / 1000).toFixed(2)} s (${w100.pages} pages) vs limit=1000: ${(w1000.ms / 1000).toFixed(2)} s (${w1000.pages} pages) = ${ratio.toFixed(2)}×`,
    '≤ 1.3× the walk at limit=1000',
    ratio <= 1.3,
  );
}

/** zones.geojson for the whole country: full detail next to PostGIS's own GeoJSON of the same rows, and zoom 6; tiles; OGC API pages. */
export async function benchMaps(db: Database, dbName: string, date: LocalDate, label: string, record: Recorder): Promise<void> {
  const rt = createRuntime({ ...loadConfig({}), databaseUrl: benchUrl(dbName) }, db);
  const app = createApp(rt);
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  try {
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const floor = await timed(() =>
      db.knex.raw<{ rows: { t: string }[] }>(
        `SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(ST_AsGeoJSON(x.*)::json))::text AS t FROM (
           SELECT a.code, a.name, z.level, a.geom FROM zonerisk_areas_on(?::date) a
           LEFT JOIN (SELECT DISTINCT ON (area_id) area_id, level FROM zone_levels WHERE date = ? ORDER BY area_id, computed_at DESC) z ON z.area_id = a.id
           WHERE a.kind = 'commune') x`,
        [date, date],
      ),
    );
    const floorBytes = Buffer.byteLength(floor.value.rows[0]?.t ?? '');
    const path = `/v1/zones.geojson?date=${date}&kind=commune`;
    const full = await httpGet(port, path);
    const fullGz = await httpGet(port, path, { 'Accept-Encoding': 'gzip' });
    record(
      `maps: zones.geojson, all communes, full detail${label}`,
      `${(full.ms / 1000).toFixed(2)} s, ${mb(full.bytes)} (gzip ${mb(fullGz.bytes)}) — floor: ST_AsGeoJSON aggregate ${(floor.ms / 1000).toFixed(2)} s, ${mb(floorBytes)}`,
      '≤ 2× the floor',
      full.ms <= 2 * floor.ms,
    );
    const cold = await httpGet(port, `${path}&zoom=6`, { 'Accept-Encoding': 'gzip' });
    const warm = await httpGet(port, `${path}&zoom=6`, { 'Accept-Encoding': 'gzip' });
    const raw6 = await httpGet(port, `${path}&zoom=6`);
    // the day before: the topology is warm, the body is built (it is then kept under its tag)
    const rebuilt = await httpGet(port, `/v1/zones.geojson?date=${addDays(date, -1)}&kind=commune&zoom=6`, { 'Accept-Encoding': 'gzip' });
    record(
      `maps: zones.geojson, all communes at zoom 6${label}`,
      `${(rebuilt.ms / 1000).toFixed(2)} s built (${(cold.ms / 1000).toFixed(2)} s first, building the shared-border topology), ${warm.ms.toFixed(0)} ms kept, ${mb(raw6.bytes)}, gzip ${mb(warm.bytes)}`,
      '< 2 MB gzipped',
      warm.bytes < 2e6,
    );
    const revalidate = await httpGet(port, `${path}&zoom=6`, { 'If-None-Match': warm.etag });
    record(`maps: warm revalidation (If-None-Match → 304)${label}`, `${revalidate.ms.toFixed(1)} ms, status ${revalidate.status}`, undefined, undefined);

    // every zoom-8 tile over the country's communes, first served (built) and then from the cache
    const ext = await db.knex.raw<{ rows: { x1: number; y1: number; x2: number; y2: number }[] }>(
      `SELECT ST_XMin(e) AS x1, ST_YMin(e) AS y1, ST_XMax(e) AS x2, ST_YMax(e) AS y2 FROM (SELECT ST_Extent(geom) AS e FROM areas WHERE kind = 'commune') x`,
    );
    const { x1, y1, x2, y2 } = ext.rows[0] as { x1: number; y1: number; x2: number; y2: number };
    const z = 8;
    const tx = (lon: number) => Math.floor(((lon + 180) / 360) * 2 ** z);
    const ty = (lat: number) => Math.floor(((1 - Math.log(Math.tan((lat * Math.PI) / 180) + 1 / Math.cos((lat * Math.PI) / 180)) / Math.PI) / 2) * 2 ** z);
    const tiles: string[] = [];
    for (let x = tx(x1); x <= tx(x2); x++) for (let y = ty(y2); y <= ty(y1); y++) tiles.push(`/tiles/zones/${z}/${x}/${y}.mvt?date=${date}&kind=commune`);
    const pass = async () => {
      const t = process.hrtime.bigint();
      let bytes = 0;
      for (const tile of tiles) bytes += (await httpGet(port, tile)).bytes;
      return { ms: Number(process.hrtime.bigint() - t) / 1e6, bytes };
    };
    const built = await pass();
    const cached = await pass();
    record(
      `maps: ${tiles.length} zoom-8 tiles over all communes${label}`,
      `${((tiles.length * 1000) / built.ms).toFixed(1)} tiles/s built, ${((tiles.length * 1000) / cached.ms).toFixed(0)} tiles/s cached, ${mb(built.bytes)} in all`,
    );
  } finally {
    server.close();
    await rt.close();
  }

  // a service just started: its warm-up (warmMaps), then the first map page's map, tiles and OGC pages
  const started = await serve(db, dbName);
  try {
    const warmed = await timed(() => warmMaps(started.rt, date));
    const first = await httpGet(started.port, `/v1/zones.geojson?date=${date}&kind=commune&zoom=6`, { 'Accept-Encoding': 'gzip' });
    record(
      `maps: the first zoom-6 communes map after a start${label}`,
      `${ms(first.ms)} (${(first.bytes / 1e6).toFixed(1)} MB gzip) after warmMaps (${(warmed.ms / 1000).toFixed(2)} s in the background: topology, the day's zones, the map)`,
      undefined,
      undefined,
    );
    await benchTiles(db, started.port, date, label, record);
    await benchOgc(db, started.port, date, label, record);
  } finally {
    await started.close();
  }
}

