import { Routes } from '../access';
import { z } from 'zod';
import { createWebhook, disableWebhook, eventsAfter, lastEventId, listDeliveries, listWebhooks } from '../../db/events';
import { badRequest, unprocessable } from '../../errors';
import { webhookPolicy } from '../../jobs/webhooks';
import { checkTarget, TargetRefused } from '../../net/targets';
import { writer } from '../auth';
import { AppContext } from '../context';
import { accepts } from '../errors';
import { oneValue } from '../schemas';
import { parseBody, parseQuery } from '../validation';

export const webhookBody = z.strictObject({
  url: z.string().url('must be an http(s) URL').regex(/^https?:\/\//, 'must be an http(s) URL').max(2000),
  secret: z.string().min(16, 'must be at least 16 characters').max(200),
});
export const streamQuery = z.strictObject({ since_id: z.preprocess(oneValue, z.coerce.number().int().min(0)).optional() });

const POLL_MS = 500;

/** Open streams, ended when the service shuts down (they would keep it waiting forever). */
const streams = new Set<() => void>();
export function endStreams(): void {
  for (const end of streams) end();
}

const HEARTBEAT_MS = 15_000;

/** A target refused by the webhook rules (net/targets.ts): 422 naming `url`. */
const refusedUrl = (e: unknown): never => {
  if (e instanceof TargetRefused) throw unprocessable('the webhook URL is not an allowed target', [{ path: 'url', message: e.reason }]);
  throw e;
};

const idParam = (text: string | undefined) => {
  const id = Number(text);
  if (!Number.isInteger(id) || id < 1) throw badRequest('id must be a positive integer', [{ path: 'id', message: 'invalid' }], 'invalid_query');
  return id;
};

/** Level changes as a Server-Sent Events stream, and webhooks (admins). */
export function eventsRouter({ db, config }: AppContext): Routes {
  const r = new Routes();
  const { knex } = db;
  const policy = webhookPolicy(config);

  /**
   * Each event: `id: <event id>`, `event: level`, `data: {"id","at","area","name","date","from","to","reason"}`.
   * Resumes after `Last-Event-ID` (or `?since_id=`); without either it starts from now.
   */
  r.get('/v1/changes/stream', 'read', async (req, res) => {
    const q = parseQuery(streamQuery, req.query);
    const header = req.get('last-event-id');
    if (header !== undefined && !/^\d+$/.test(header)) throw badRequest('Last-Event-ID must be an event id', [{ path: 'Last-Event-ID', message: 'must be a whole number' }], 'invalid_query');
    let last = header !== undefined ? Number(header) : (q.since_id ?? (await lastEventId(db.read)));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const flush = () => (res as unknown as { flush?: () => void }).flush?.();
    res.write(`retry: 2000\n: connected after event ${last}\n\n`);
    flush();
    let open = true;
    const end = () => (open = false);
    streams.add(end);
    req.on('close', () => {
      open = false;
      streams.delete(end);
    });
    let quietSince = Date.now();
    while (open) {
      const events = await eventsAfter(db.read, last, 500);
      for (const e of events) {
        res.write(`id: ${e.id}\nevent: level\ndata: ${JSON.stringify(e)}\n\n`);
        last = e.id;
      }
      if (events.length) {
        flush();
        quietSince = Date.now();
        continue;
      }
      if (Date.now() - quietSince > HEARTBEAT_MS) {
        res.write(': still here\n\n');
        flush();
        quietSince = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    streams.delete(end);
    res.end();
  });

  r.post('/v1/webhooks', 'admin', accepts('application/json'), async (req, res) => {
    const body = parseBody(webhookBody, req.body);
    // resolved and checked now, and again before every delivery (DNS may change meanwhile)
    const target = await checkTarget(body.url, policy).catch(refusedUrl);
    res.status(201).json(await createWebhook(knex, { ...body, url: target.url.href }, writer(res)));
  });
  r.get('/v1/webhooks', 'admin', async (_req, res) => {
    res.json({ items: await listWebhooks(knex) });
  });
  r.delete('/v1/webhooks/:id', 'admin', async (req, res) => {
    res.json(await disableWebhook(knex, idParam(req.params.id), writer(res)));
  });
  r.get('/v1/webhooks/:id/deliveries', 'admin', async (req, res) => {
    res.json({ items: await listDeliveries(knex, idParam(req.params.id)) });
  });
  return r;
}
