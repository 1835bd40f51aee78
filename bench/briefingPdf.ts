import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import type { Briefing, BriefingChange, BriefingCommune } from '../src/domain/briefing';
import { BRIEFING_LEVELS, quietSentence } from '../src/domain/briefing';
import { addDays, LocalDate } from '../src/domain/dates';
import { LEVEL_INFO, LevelOrUnknown, levelNumber } from '../src/domain/levels';
import { writeBriefing } from '../src/services/briefingFiles';

/**
 * The PDF (or another format) of a synthetic national briefing — 10,600 communes in 700
 * districts, 40 % red or orange, 6,000 changes, 400 overrides — written to a sink that reads
 * like a socket (a tick per chunk): time, bytes and the peak RSS while writing.
 *
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/briefingPdf.js [pdf|xlsx|csv] [communes]
 */
const format = (process.argv[2] ?? 'pdf') as 'pdf' | 'xlsx' | 'csv';
const N = Number(process.argv[3] ?? 10_600);
const DATE = '2021-10-31' as LocalDate;
const levels: LevelOrUnknown[] = ['red', 'orange', 'yellow', 'green', 'unknown'];

function syntheticBriefing(n: number): Briefing {
  const communes: BriefingCommune[] = [];
  for (let i = 0; i < n; i++) {
    const level = levels[i % 5 === 0 ? 0 : i % 5 === 1 ? 1 : (i % 5) as 2 | 3 | 4] as LevelOrUnknown;
    const d = Math.floor(i / 15);
    const population = 1000 + ((i * 7919) % 149_000);
    const cases = (i * 31) % 400;
    communes.push({
      code: `VNM.${d}.${i}_1`,
      name: `Xã Thử Nghiệm Số ${i}`,
      district: { code: `VNM.${d}_1`, name: `Huyện Thử Nghiệm ${d}` },
      level,
      level_number: levelNumber(level),
      level_label: { vi: LEVEL_INFO[level].vi, en: LEVEL_INFO[level].en },
      population,
      community_cases_7d: cases,
      incidence_per_100k_7d: Math.round(((cases * 100_000) / population) * 100) / 100,
      reported_24h: i % 9 !== 0,
      community_cases_24h: i % 9 !== 0 ? i % 4 : null,
      since: addDays(DATE, -(i % 30)),
      override: i % 27 === 0 ? { id: i, level: 'red', level_number: 4, reason: 'Ổ dịch mới tại chợ', note: null, author: 'Ban chỉ đạo tỉnh', from: addDays(DATE, -3), until: null } : null,
    });
  }
  const changes: BriefingChange[] = communes.slice(0, Math.min(6000, n)).map((c, i) => ({
    code: c.code,
    name: c.name,
    district: c.district,
    date: addDays(DATE, -(i % 7)),
    from: 'yellow',
    to: c.level,
    from_number: 2,
    to_number: c.level_number,
    direction: 'escalated',
    reason: 'community incidence 7d crossed 50/100k',
    reason_text: { vi: 'Số ca cộng đồng/100.000 dân 7 ngày vượt ngưỡng 50 (42,10 → 55,30) ở bước 1 (bảng tiêu chí)', en: 'community incidence 7d crossed 50/100k (42.10 → 55.30) at step 1 (table)' },
  }));
  const byLevel = Object.fromEntries(
    BRIEFING_LEVELS.map((l) => {
      const cs = communes.filter((c) => c.level === l);
      const areas = cs.length;
      const population = cs.reduce((s, c) => s + (c.population ?? 0), 0);
      return [l, { level: l, level_number: levelNumber(l), level_label: { vi: LEVEL_INFO[l].vi, en: LEVEL_INFO[l].en }, areas, population, week_before: { areas, population }, change: { areas: 0, population: 0 } }];
    }),
  ) as Briefing['counts']['by_level'];
  const day = Object.fromEntries(BRIEFING_LEVELS.map((l) => [l, { areas: byLevel[l].areas, no_new_community_cases_24h: Math.floor(byLevel[l].areas / 3), not_reported_24h: Math.floor(byLevel[l].areas / 9) }])) as Briefing['last_24h']['by_level'];
  const total = { areas: n, population: communes.reduce((s, c) => s + (c.population ?? 0), 0) };
  return {
    title: { vi: 'Báo cáo tình hình dịch COVID-19 hằng tuần', en: 'Weekly COVID-19 situation briefing' },
    area: { code: null, name: 'Toàn bộ địa bàn', kind: null, kind_label: null },
    date: DATE,
    week: { from: addDays(DATE, -6), to: DATE },
    version: 'latest',
    as_of: new Date().toISOString(),
    as_of_text: '08:05 31/10/2021',
    data_as_of: new Date().toISOString(),
    data_as_of_text: '08:05 31/10/2021',
    rule_set: { id: 'vn-moh-4800-2021@1', name: 'vn-moh-4800-2021', version: 1, effective_from: '2021-10-11' as LocalDate, effective_to: null },
    counts: { date: DATE, week_before_date: addDays(DATE, -7), by_level: byLevel, total: { ...total, week_before: total, change: { areas: 0, population: 0 } } },
    last_24h: { by_level: day, total: { areas: n, no_new_community_cases_24h: 0, not_reported_24h: 0 }, sentence: quietSentence(day) },
    hotspots: communes.filter((c) => c.level === 'red' || c.level === 'orange'),
    changes: { escalated: changes.length, deescalated: 0, items: changes, compared_with: null },
    map_changes: [],
    overrides: communes
      .filter((c) => c.override)
      .map((c) => ({ ...(c.override as NonNullable<BriefingCommune['override']>), code: c.code, name: c.name, kind: 'commune', kind_label: { vi: 'xã, phường', en: 'commune' }, district: c.district })),
    not_reporting: communes.filter((c) => !c.reported_24h).map((c) => ({ code: c.code, name: c.name, district: c.district })),
    communes,
  };
}

async function main(): Promise<void> {
  // a first small file loads the writer's modules and fonts (a running service has them loaded)
  await writeBriefing(syntheticBriefing(20), format, new Writable({ write: (_c, _e, cb) => cb() }));
  const b = syntheticBriefing(N);
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  let bytes = 0;
  const lag = monitorEventLoopDelay({ resolution: 5 });
  // a socket-like sink: each chunk is taken on a later tick
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      setImmediate(cb);
    },
  });
  const started = performance.now();
  const cpu = process.cpuUsage();
  lag.enable();
  await writeBriefing(b, format, sink);
  lag.disable();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  clearInterval(sample);
  peak = Math.max(peak, process.memoryUsage().rss);
  const mb = (v: number) => (v / 2 ** 20).toFixed(0);
  console.log(`${format}: ${N} communes, ${b.changes.items.length} changes → ${(bytes / 2 ** 20).toFixed(2)} MB in ${(ms / 1000).toFixed(2)} s; RSS before ${mb(base)} MB, peak ${mb(peak)} MB (+${mb(peak - base)} MB); CPU ${((used.user + used.system) / 1e6).toFixed(2)} s; event-loop delay max ${(lag.max / 1e6).toFixed(0)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
