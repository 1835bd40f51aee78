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
  return http.createServer(
    {
      headersTimeout: config.headersTimeoutSeconds * 1000,
      requestTimeout: config.requestTimeoutSeconds * 1000,
      connectionsCheckingInterval: 1000,
    },
    app,
  );
}
