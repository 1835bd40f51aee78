import http from 'node:http';
import type { Express } from 'express';
import { Config } from '../config';

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
  return server;
}

/** Responses whose client waits for `100 Continue` before sending its body. */
export const awaitingContinue = new WeakSet<http.ServerResponse>();
