import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'express';
import { LocalDate } from '../../src/domain/dates';
import { Gate, Turn } from '../../src/http/stream';
import { testContext } from '../helpers/context';

/**
 * Full-detail maps are streamed a few at a time (ZONERISK_MAX_FULL_MAPS), a few more wait,
 * the rest are refused with 503 and Retry-After — and a client that stops reading holds its
 * turn (the stream waits for it: back-pressure) instead of having its body built in memory.
 */
describe('Gate', () => {
  /** Enough of a Response for the gate: 'close' and `destroyed`. */
  const fakeResponse = () => Object.assign(new EventEmitter(), { destroyed: false }) as unknown as Response & EventEmitter;
  const released = (t: Turn) => {
    if (typeof t === 'string') throw new Error(`no turn: ${t}`);
    return t;
  };

  test('limit at once, queue waiting in order, the rest busy; a release hands the turn on', async () => {
    const gate = new Gate(2, 2, 60_000);
    const a = released(await gate.enter(fakeResponse()));
    released(await gate.enter(fakeResponse())); // kept to the end
    const order: string[] = [];
    const c = gate.enter(fakeResponse()).then((t) => (order.push('c'), t));
    const d = gate.enter(fakeResponse()).then((t) => (order.push('d'), t));
    expect(await gate.enter(fakeResponse())).toBe('busy');
    expect(gate.state).toEqual({ running: 2, waiting: 2 });
    a.release();
    a.release(); // twice is once
    const cTurn = released(await c);
    expect(order).toEqual(['c']);
    expect(gate.state).toEqual({ running: 2, waiting: 1 });
    cTurn.release();
    released(await d).release();
    expect(order).toEqual(['c', 'd']);
    expect(gate.state).toEqual({ running: 1, waiting: 0 });
  });

  test('a waiter whose client hangs up leaves the queue; one that waits too long is busy', async () => {
    const gate = new Gate(1, 2, 50);
    const first = released(await gate.enter(fakeResponse()));
    const res = fakeResponse();
    const gone = gate.enter(res);
    const late = gate.enter(fakeResponse());
    res.emit('close');
    expect(await gone).toBe('gone');
    expect(await late).toBe('busy');
    expect(gate.state).toEqual({ running: 1, waiting: 0 });
    first.release();
    expect(gate.state).toEqual({ running: 0, waiting: 0 });
  });
});

describe('GET /v1/zones.geojson at full detail, with ZONERISK_MAX_FULL_MAPS=1', () => {
  const ctx = testContext({ maxFullMaps: 1 });
  const END = '2021-10-31' as LocalDate;
  let server: http.Server;
  let url = '';

  beforeAll(async () => {
    await ctx.demo(END);
    // a 600,000-vertex commune (made in SQL: quick): the full-detail body is ~20 MB, more than
    // the sockets between a server and a client that stops reading can hold
    await ctx.db.knex.raw(`
      INSERT INTO areas (code, name, name_search, kind, population, geom, label_point)
      SELECT 'VNM.17.TEST.BIG', 'Vùng lớn', 'vung lon', 'commune', 1000, ST_Multi(g), ST_PointOnSurface(g)
      FROM (SELECT ST_MakePolygon(ST_AddPoint(l, ST_StartPoint(l))) AS g
            FROM (SELECT ST_MakeLine(array_agg(ST_SetSRID(ST_MakePoint(106.85 + 0.1 * cos(2 * pi() * i / 600000), 10.95 + 0.1 * sin(2 * pi() * i / 600000)), 4326) ORDER BY i)) AS l
                  FROM generate_series(0, 599999) i) x) y`);
    await ctx.db.knex.raw('SELECT zonerisk_rebuild_area_tree()');
    server = http.createServer(ctx.app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/zones.geojson?date=${END}&kind=commune`;
  });
  afterAll(async () => {
    if (server) await new Promise((r) => server.close(r));
    await ctx.close();
  });

  type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string };
  /** A request read to the end. */
  const fetchAll = (): { done: Promise<Answer>; req: http.ClientRequest } => {
    let req!: http.ClientRequest;
    const done = new Promise<Answer>((resolve, reject) => {
      req = http.get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    return { done, req };
  };

  test('a client that stops reading holds its turn; two wait, the next is 503 with Retry-After; hanging up hands the turn on', async () => {
    // A: headers, then it reads nothing more
    const a = await new Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>((resolve, reject) => {
      const req = http.get(url, (res) => {
        res.pause();
        resolve({ req, res });
      });
      req.on('error', reject);
    });
    expect(a.res.statusCode).toBe(200);

    // three more: one turn is taken (A waits on its socket), two may wait, one is refused at once
    const others = [fetchAll(), fetchAll(), fetchAll()];
    const first = await Promise.race(others.map((o, i) => o.done.then((answer) => ({ i, answer }))));
    expect(first.answer.status).toBe(503);
    expect(Number(first.answer.headers['retry-after'])).toBeGreaterThan(0);
    const error = (JSON.parse(first.answer.body) as { error: { code: string; message: string; details: { path: string }[] } }).error;
    expect(error.code).toBe('busy');
    expect(error.message).toMatch(/full-detail/);
    expect(error.details[0]?.path).toBe('zoom');

    // A hangs up: its turn goes to a waiting request, then to the other
    a.req.destroy();
    const rest = await Promise.all(others.filter((_, i) => i !== first.i).map((o) => o.done));
    for (const answer of rest) {
      expect(answer.status).toBe(200);
      const fc = JSON.parse(answer.body) as { features: { id: string; geometry: { coordinates: number[][][][] } }[] };
      const big = fc.features.find((f) => f.id === 'VNM.17.TEST.BIG');
      expect(big?.geometry.coordinates[0]?.[0]).toHaveLength(600_001);
    }
    console.log(`full detail, ZONERISK_MAX_FULL_MAPS=1: a paused client held the turn; 1 refused (503, Retry-After ${first.answer.headers['retry-after']} s), 2 served after it hung up (${(Buffer.byteLength(rest[0]?.body ?? '') / 2 ** 20).toFixed(1)} MiB each)`);
  });
});
