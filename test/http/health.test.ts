import request from 'supertest';
import { testContext } from '../helpers/context';
import { connectDatabase } from '../../src/db/database';
import { createApp } from '../../src/http/app';
import { createRuntime } from '../../src/runtime';

const ctx = testContext();
afterAll(() => ctx.close());

describe('health and readiness', () => {
  test('/health answers while the process runs', async () => {
    expect((await ctx.http().get('/health').expect(200)).body).toEqual({ status: 'ok' });
  });

  test('/ready is 200 when the database answers and migrations are current', async () => {
    expect((await ctx.http().get('/ready').expect(200)).body).toMatchObject({ status: 'ready', migrations: 'current' });
  });

  test('/ready is 503 when the database does not answer', async () => {
    const db = connectDatabase('postgres://postgres@127.0.0.1:1/none', 1, false);
    try {
      const app = createApp(createRuntime(ctx.config, db));
      expect((await request(app).get('/ready').expect(503)).body).toMatchObject({ status: 'not_ready', database: 'unavailable' });
      // and a data request gets a clear 503, not a 500
      const res = await request(app).get('/v1/areas').expect(503);
      expect(res.body.error.code).toBe('database_unavailable');
    } finally {
      await db.close();
    }
  });

  test('/ready is 503 while migrations are pending', async () => {
    await ctx.db.knex('knex_migrations').where({ name: '20261123000001_foundation' }).update({ name: 'renamed_for_test' });
    try {
      expect((await ctx.http().get('/ready').expect(503)).body).toMatchObject({ migrations: 'pending' });
    } finally {
      await ctx.db.knex('knex_migrations').where({ name: 'renamed_for_test' }).update({ name: '20261123000001_foundation' });
    }
  });

  test('an unknown route is a JSON 404', async () => {
    const res = await ctx.http().get('/v1/nothing-here').expect(404);
    expect(res.body).toEqual({ error: { code: 'not_found', message: 'Không có đường dẫn này — no route for GET /v1/nothing-here', details: [], request_id: res.headers['x-request-id'] } });
  });
});
