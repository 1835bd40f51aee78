import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';
import { Config } from '../config';
import { AppError } from '../errors';

/**
 * The HTTP server with limits against slow clients: the header block must arrive within
 * ZONERISK_HEADERS_TIMEOUT and the whole request within ZONERISK_REQUEST_TIMEOUT (a
 * slow-loris client is cut off, not left holding a socket), checked every second; bodies
 * are bounded by ZONERISK_BODY_LIMIT in the app.
 */
export function createHttpServer(app: Express, config: Pick<Config, 'headersTimeoutSeconds' | 'requestTimeoutSeconds'>): http.Server {
  const server = http.createServer(
    {
      headersTimeout: config.headersTimeoutSeconds * 1000,
      requestTimeout: config.requestTimeoutSeconds * 1000,
      connectionsCheckingInterval: 1000,
    },
    app,
  );
  // `Expect: 100-continue`: the client is told to send its body only once the gate has
  // admitted it (src/http/auth.ts), not before — a refused upload is never invited
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    awaitingContinue.add(res);
    server.emit('request', req, res);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket));
  return server;
}

/**
 * What a request refused before it reaches the app is told (Node's parser: over-long
 * headers, a timeout, malformed HTTP), as every error: a JSON body naming the reason — then
 * the connection is destroyed, as Node's own handler does (its answer is a bare status line),
 * so that nothing the client sends after it is parsed, let alone carried out. Nothing is
 * written where a response has begun on the connection (it would land inside that one).
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (!socket.writable || err.code === 'ECONNRESET' || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError(431, 'headers_too_large', `the request line and headers exceed ${Math.round(http.maxHeaderSize / 1024)} KiB: send a shorter URL or fewer headers`, [{ path: '(headers)', message: 'too large' }])
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError(408, 'request_timeout', 'the request did not arrive in time: the connection is closed')
        : new AppError(400, 'bad_request', 'the request is not well-formed HTTP/1.1', [{ path: '(request)', message: 'malformed' }]);
  const body = JSON.stringify(e.toJSON());
  socket.write(`HTTP/1.1 ${e.status} ${http.STATUS_CODES[e.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
}

/** Responses whose client waits for `100 Continue` before sending its body. */
export const awaitingContinue = new WeakSet<http.ServerResponse>();
