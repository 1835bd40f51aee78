import { Client } from 'pg';
import request from 'supertest';
import { embedded, TEST_ADMIN_KEY, testContext } from '../helpers/context';
import { createApp } from '../../src/http/app';
import { createRuntime } from '../../src/runtime';
import { zoneDetail } from '../../src/services/levels';
import { today } from '../../src/domain/dates';
import { Warmer } from '../../src/services/warm';

/**
 * The warm-up (services/warm.ts): after it, today's zone answer of every commune is kept
 * under the ETag the route answers with, and is the answer a cold runtime builds; a change
 * of today's data (an override) is warmed again; nothing changed, nothing is rebuilt.
 */
const ctx = testContext();
const warmer = new Warmer(() => ctx.rt);
afterAll(async () => {
  await warmer.stop();
  await ctx.close();
});

test("today's commune answers are kept ahead of the requests, as a cold runtime builds them, and built again after a change", async () => {
  const day = today(ctx.config.reportingTimeZone);
  await ctx.demo(day, 2);
  warmer.kick();
  await warmer.idle();
  const list = await ctx.http().get('/v1/zones?kind=commune').expect(200);
  const codes = (list.body.items as { code: string }[]).map((i) => i.code);
  expect(codes.length).toBeGreaterThan(10);
  // (the recomputation's job may have started a warm-up already: then this one found nothing new)
  expect(warmer.last).toMatchObject({ date: day });

  const cold = createRuntime(ctx.config, ctx.db);
  try {
    // every commune's answer is kept, under the tag a request is answered with
    for (const code of codes) expect(ctx.rt.bodies.get((await zoneDetail(cold, code, { date: day, asOf: null, version: 'latest' })).etag)).toBeDefined();
    for (const code of [codes[0], codes[Math.floor(codes.length / 2)], codes[codes.length - 1]] as string[]) {
      const res = await ctx.http().get(`/v1/zones/${code}`).expect(200);
      const kept = ctx.rt.bodies.get(res.headers.etag as string);
      expect(kept).toBeDefined();
      const built = await zoneDetail(cold, code, { date: day, asOf: null, version: 'latest' });
      expect(built.etag).toBe(res.headers.etag);
      expect(JSON.parse(kept as string)).toEqual(JSON.parse(JSON.stringify(await built.body())));
    }

    // nothing changed: nothing rebuilt
    warmer.kick();
    await warmer.idle();
    expect(warmer.last).toEqual({ date: day, skipped: 'unchanged' });

    // an override moves today's version: the warm-up builds the answers again, the override in them
    const code = codes[1] as string;
    await ctx.http().post(`/v1/zones/${code}/overrides`).send({ level: 'red', reason: 'quyết định của BCĐ', from: day }).expect(201);
    warmer.kick();
    await warmer.idle();
    expect(warmer.last).toMatchObject({ date: day, zones: codes.length });
    const now = await zoneDetail(cold, code, { date: day, asOf: null, version: 'latest' });
    const kept = ctx.rt.bodies.get(now.etag);
    expect(JSON.parse(kept as string)).toMatchObject({ code, level: 'red', override: { level: 'red' } });
  } finally {
    await cold.close();
  }
});

test('an answer built while the data moves is kept under the tag of the data it was built from, never a newer one', async () => {
  if (embedded()) return; // needs a second session holding a lock
  const day = today(ctx.config.reportingTimeZone);
  await ctx.demo(day, 2);
  const list = await ctx.http().get('/v1/zones?kind=commune').expect(200);
  const code = (list.body.items as { code: string }[])[3]?.code as string;
  // a runtime that has not read the rule set yet: its warm-up waits on rule_sets, after reading the day
  const rt = createRuntime(ctx.config, ctx.db);
  const w = new Warmer(() => rt);
  // the serving runtime has read the rule sets in force already (kept: they never change), as
  // an override's change reads them to see whether a parent rolls it up (db/overrides.ts)
  for (const a of await ctx.db.knex('rule_set_activations').select<{ rule_set_id: string }[]>('rule_set_id')) await ctx.rt.ruleSets.definition(ctx.db.knex, a.rule_set_id);
  const lock = new Client({ connectionString: ctx.config.databaseUrl });
  await lock.connect();
  try {
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE rule_sets IN ACCESS EXCLUSIVE MODE');
    w.kick();
    for (let i = 0; i < 200; i++) {
      const waiting = await lock.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'rule_sets'::regclass`);
      if ((waiting.rows[0]?.n ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // the data moves while the warm-up is held
    await ctx.http().post(`/v1/zones/${code}/overrides`).send({ level: 'red', reason: 'quyết định của BCĐ', from: day }).expect(201);
    await lock.query('COMMIT');
    await w.idle();
    // whatever is kept under the tag a request now gets shows the override
    const now = await zoneDetail(rt, code, { date: day, asOf: null, version: 'latest' });
    const kept = rt.bodies.get(now.etag);
    if (kept !== undefined) expect(JSON.parse(kept)).toMatchObject({ code, level: 'red', override: { level: 'red' } });
    const res = await request(createApp(rt)).get(`/v1/zones/${code}`).set('Authorization', `Bearer ${TEST_ADMIN_KEY}`).expect(200);
    expect(res.body).toMatchObject({ level: 'red', override: { level: 'red' } });
  } finally {
    await lock.query('ROLLBACK').catch(() => undefined);
    await lock.end();
    await w.stop();
    await rt.close();
  }
});
