import net from 'node:net';
import { AddressInfo } from 'node:net';
import http from 'node:http';
import { PassThrough } from 'node:stream';
import { answerClientError, createHttpServer } from '../../src/http/server';
import { smallProvince } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * Slow-loris clients are cut off: a header block trickling in, or a body trickling in,
 * loses its connection once ZONERISK_HEADERS_TIMEOUT / ZONERISK_REQUEST_TIMEOUT pass
 * (1 s and 2 s here), while a normal request on the same server is served.
 */
const ctx = testContext({ headersTimeoutSeconds: 1, requestTimeoutSeconds: 2 });
let server: http.Server;
let port = 0;

beforeAll(async () => {
  server = createHttpServer(ctx.app, ctx.config);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await ctx.close();
});

/** Sends `head` then one byte of `trickle` every `everyMs`; resolves with what came back and when the server closed. */
function trickle(head: string, drip: string, everyMs: number): Promise<{ closedAfterMs: number; response: string; sent: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    let sent = 0;
    let timer: NodeJS.Timeout | null = null;
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent < drip.length && !socket.destroyed) socket.write(drip[sent++] as string);
      }, everyMs);
    });
    socket.on('data', (d: Buffer) => (response += d.toString()));
    const done = () => {
      if (timer) clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, response, sent });
    };
    socket.on('close', done);
    socket.on('error', () => undefined);
  });
}

test('headers that trickle in are cut off after the headers timeout', async () => {
  const r = await trickle('GET /health HTTP/1.1\r\nHost: x\r\n', 'X-Slow: ' + 'a'.repeat(200), 200);
  expect(r.closedAfterMs).toBeGreaterThanOrEqual(900);
  expect(r.closedAfterMs).toBeLessThan(4_000);
  expect(r.response).toMatch(/^HTTP\/1\.1 408/);
  expect(JSON.parse(r.response.split('\r\n\r\n')[1] as string).error.code).toBe('request_timeout');
});

test('a body that trickles in is cut off after the request timeout, and nothing is written', async () => {
  const before = Number((await ctx.db.knex('reports').count<{ c: number }[]>('* as c'))[0]?.c);
  const body = 'area,date,community_cases,quarantine_cases\n' + 'X,2021-01-01,1,1\n'.repeat(100);
  const r = await trickle(`POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-admin-key-not-secret\r\nContent-Type: text/csv\r\nContent-Length: ${body.length}\r\n\r\n`, body, 100);
  expect(r.closedAfterMs).toBeGreaterThanOrEqual(1_900);
  expect(r.closedAfterMs).toBeLessThan(5_000);
  expect(r.sent).toBeLessThan(body.length);
  expect(Number((await ctx.db.knex('reports').count<{ c: number }[]>('* as c'))[0]?.c)).toBe(before);
});

test('meanwhile a normal request is served', async () => {
  const slow = trickle('GET /health HTTP/1.1\r\nHost: x\r\n', 'X-Slow: ' + 'a'.repeat(200), 200);
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  expect(res.status).toBe(200);
  await slow;
});

test('a declared body over the limit is refused with 413 without reading it', async () => {
  const small = testContext({ bodyLimitBytes: 1024 });
  const s = createHttpServer(small.app, small.config);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  try {
    const p = (s.address() as AddressInfo).port;
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: p, method: 'POST', path: '/v1/reports', headers: { authorization: 'Bearer test-admin-key-not-secret', 'content-type': 'application/json', 'content-length': 100_000_000 } }, (response) => {
        let b = '';
        response.on('data', (d: Buffer) => (b += d.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: b }));
      });
      req.on('error', reject);
      req.write('{"reports":['); // and never the rest
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
  } finally {
    await new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeAllConnections();
    await small.close();
  }
});

/** Sends raw bytes; resolves with the whole answer once the server closes the connection. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let response = '';
    socket.on('data', (d: Buffer) => (response += d.toString()));
    socket.on('close', () => resolve(response));
    socket.on('error', () => undefined);
  });
}

test('a request refused before the app (an over-long URL, malformed HTTP) is told why in JSON, then closed', async () => {
  const cases: [string, number, string][] = [
    [`GET /v1/zones?parent=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'headers_too_large'],
    [`GET /health HTTP/1.1\r\nHost: x\r\n${'X-Big: y\r\n'.repeat(3_000)}\r\n`, 431, 'headers_too_large'],
    ['NOT HTTP AT ALL\r\n\r\n', 400, 'bad_request'],
    ['GET /health HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400, 'bad_request'],
  ];
  for (const [bytes, status, code] of cases) {
    const answer = await raw(bytes);
    const [head, body] = answer.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(head).toMatch(/\r\nContent-Type: application\/json; charset=utf-8\r\n/);
    expect(head).toMatch(/\r\nConnection: close/);
    expect(JSON.parse(body).error).toMatchObject({ code, message: expect.any(String) });
  }
  // the server goes on
  expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
});

test('after its 408 the connection is closed at once: the rest of the request is never read, nothing is written', async () => {
  // a report the request would store, were its body read to the end
  await ctx.reset();
  await ctx.http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(smallProvince())).expect(200);
  const count = async () => Number((await ctx.db.knex('reports').count<{ c: number }[]>('* as c'))[0]?.c);
  const before = await count();
  const body = JSON.stringify({ reports: [{ area: 'C11', date: '2021-01-01', community_cases: 4242, quarantine_cases: 0 }] });
  const half = Math.floor(body.length / 2);
  for (const [first, rest] of [
    // the headers whole, half the body (the request timeout), then the other half
    [`POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-admin-key-not-secret\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`, body.slice(half)],
    // half the headers (the headers timeout), then the rest of the request
    ['POST /v1/reports HTTP/1.1\r\nHost: x\r\n', `Authorization: Bearer test-admin-key-not-secret\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`],
  ] as const) {
    const r = await new Promise<{ response: string; closedAfterAnswerMs: number }>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(first));
      let response = '';
      let answeredAt = 0;
      socket.on('data', (d: Buffer) => {
        response += d.toString();
        if (!answeredAt) {
          answeredAt = Date.now();
          socket.write(`${rest}GET /health HTTP/1.1\r\nHost: x\r\n\r\n`, () => undefined);
        }
      });
      socket.on('close', () => resolve({ response, closedAfterAnswerMs: Date.now() - answeredAt }));
      socket.on('error', () => undefined);
    });
    expect(r.response).toMatch(/^HTTP\/1\.1 408 /);
    // one answer only: neither the rest nor the /health after it was read
    expect(r.response.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(r.closedAfterAnswerMs).toBeLessThan(1_000);
    // the request's handler, had it been reached, would have had time to write
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await count()).toBe(before);
  }
});

test('a client error on a connection whose response has begun writes nothing into it: the connection is destroyed', () => {
  const socket = new PassThrough() as PassThrough & { _httpMessage?: { headersSent: boolean } };
  socket._httpMessage = { headersSent: true };
  const written: unknown[] = [];
  socket.on('data', (d) => written.push(d));
  answerClientError(Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_METHOD' }), socket);
  expect(written).toEqual([]);
  expect(socket.destroyed).toBe(true);
  // with none begun, the JSON answer is written, then the connection destroyed
  const fresh = new PassThrough();
  const out: Buffer[] = [];
  fresh.on('data', (d: Buffer) => out.push(d));
  answerClientError(Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_METHOD' }), fresh);
  expect(Buffer.concat(out).toString()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*"code":"bad_request"/);
  expect(fresh.destroyed).toBe(true);
});
