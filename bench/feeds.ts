import { Database } from '../src/db/database';
import { addDays, LocalDate } from '../src/domain/dates';
import { Record as Recorder } from './common';
import { get, serve } from './warm';

/**
 * The change feed of a province's week — what a province's steering committee asks each
 * week (`GET /v1/changes?parent=<province>&since&until`) — next to the country's week, for
 * the province with the most areas. A province is part of the country: its feed should cost
 * no more than the country's. Each request is read at its own instant (`as_of`), so none is
 * answered from a kept body. The median of RUNS.
 */
const RUNS = 7;

export async function benchFeeds(db: Database, dbName: string, date: LocalDate, record: Recorder): Promise<void> {
  const top = await db.knex.raw<{ rows: { code: string; n: string }[] }>(
    `SELECT a.code, count(*) AS n FROM areas a JOIN area_tree t ON t.ancestor = a.id AND t.depth > 0
     WHERE a.kind = 'province' GROUP BY a.code ORDER BY count(*) DESC, a.code LIMIT 1`,
  );
  const province = top.rows[0];
  if (!province) return;
  const since = addDays(date, -6);
  const median = async (port: number, query: string) => {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await get(port, `/v1/changes?${query}&since=${since}&until=${date}&as_of=${encodeURIComponent(new Date().toISOString())}`);
      if (r.status !== 200) throw new Error(`changes ${query}: ${r.status}`);
      ms.push(r.ms);
    }
    return ms.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
  };
  const { ofProvince, ofCountry } = await serve(db, dbName, async (_rt, _warmer, port) => ({
    ofProvince: await median(port, `parent=${encodeURIComponent(province.code)}`),
    ofCountry: await median(port, 'kind=commune'),
  }));
  record(
    `change feed: a province's week (${province.code}, ${Number(province.n).toLocaleString('en')} areas)`,
    `p50 ${ofProvince.toFixed(1)} ms vs the country's communes' week p50 ${ofCountry.toFixed(1)} ms = ${(ofProvince / ofCountry).toFixed(2)}×`,
    "≤ 1× the country's",
    ofProvince <= ofCountry,
  );
}
