import { zonesOn } from '../db/levels';
import { LocalDate, today } from '../domain/dates';
import { log } from '../log';
import type { Runtime, WarmUp } from '../runtime';
import { warmMaps } from './maps';
import { zoneDetailBody } from './levels';

/**
 * Warm answers (issue 19): the first requests after a daily recomputation or a start were
 * the slow ones — a cold single-zone read ~15× a kept one, the first national map seconds.
 * A `Warmer` (one per service, made for its runtime by src/server.ts) builds today's hot answers in the
 * background, as latest known, before anyone asks:
 *
 * 1. the maps (services/maps.ts `warmMaps`): the communes' shared-border topology, the
 *    day's zones and properties every tile and OGC page reads, the zoom-6 commune map;
 * 2. the zone answer of every commune (`GET /v1/zones/{code}`), from one read of the day's
 *    zones, each kept under the ETag the route answers with (rt.bodies).
 *
 * When: at start; when told a recomputation ended (`kick`, the job dispatcher); and every
 * CHECK_MS when today's data version moved (a recomputation run by another replica or
 * through the API, an ingest, an override) — the version is the one every map and zone ETag
 * is made from, so what is warmed is exactly what the next request is answered with. One
 * warm-up at a time; a kick during one runs another after it. Requests are never held:
 * the request thread builds the zone answers in slices of SLICE zones, yielding between
 * them, and a warm-up stops where the version moves under it (the next check starts over).
 */
const CHECK_MS = 15_000;
const SLICE = 100;
const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

export type WarmOutcome = { date: LocalDate; zones: number; ms: number } | { date: LocalDate; skipped: 'unchanged' | 'moved' | 'stopped' };

export class Warmer implements WarmUp {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** The version tag last warmed (per day). */
  private warmed = '';
  private warmedDay: LocalDate | null = null;
  /** How the last warm-up ended (tests, the bench). */
  last: WarmOutcome | null = null;
  private readonly waiters: (() => void)[] = [];
  /** The day warmed (null: today in TZ_REPORTING). */
  private day: LocalDate | null = null;

  /** `runtime`: the runtime that owns it (asked for when a warm-up runs). */
  constructor(private readonly runtime: () => Runtime) {}

  /** Warms now, then checks every CHECK_MS. */
  start(): void {
    if (this.stopped || this.timer) return;
    this.kick();
    this.timer = setInterval(() => this.kick(), CHECK_MS);
    this.timer.unref();
  }

  /** Warm (again) as soon as the running warm-up, if any, has ended; `date`: that day instead of today (benches, tests). */
  kick(date?: LocalDate): void {
    if (this.stopped) return;
    if (date) this.day = date;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.warm()
      .catch((e: unknown) => log.warn('warm-up failed', { error: e instanceof Error ? e.message : String(e) }))
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        } else for (const w of this.waiters.splice(0)) w();
      });
  }

  /** Resolves when no warm-up runs or is due. */
  idle(): Promise<void> {
    return this.running ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async warm(): Promise<void> {
    const rt = this.runtime();
    const date = this.day ?? today(rt.config.reportingTimeZone);
    const started = Date.now();
    // the version first, then the day: every answer below is built from data no older than
    // `tag`, and kept under a tag of that version (never a later one it might predate)
    const tag = await rt.maps.dataVersion(date, null);
    if (tag === this.warmed && this.warmedDay === date) {
      this.last = { date, skipped: 'unchanged' };
      return;
    }
    await warmMaps(rt, date);
    const zones = await zonesOn(rt.db.read, date, null, { kind: 'commune' });
    let n = 0;
    for (let i = 0; i < zones.length; i += SLICE) {
      if (this.stopped) {
        this.last = { date, skipped: 'stopped' };
        return;
      }
      await yieldToRequests();
      // the data moved: requests now ask under newer tags; the next check starts over
      if ((await rt.maps.dataVersion(date, null)) !== tag) {
        this.last = { date, skipped: 'moved' };
        return;
      }
      for (const z of zones.slice(i, i + SLICE)) {
        const etag = rt.maps.etagAt({ date, asOf: null }, `zone:${z.code}`, tag);
        if (rt.bodies.get(etag) !== undefined) continue;
        rt.bodies.set(etag, JSON.stringify(await zoneDetailBody(rt, z, date)));
        n++;
      }
    }
    this.warmed = tag;
    this.warmedDay = date;
    this.last = { date, zones: n, ms: Date.now() - started };
    log.info('warm-up done', { date, zones: n, ms: this.last.ms });
  }
}
