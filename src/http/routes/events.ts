import { Routes } from '../access';
import { z } from 'zod';
import { deliveries, endWebhook, eventsSince, latestEventId, newWebhook, webhooks } from '../../services/admin';
import type { Runtime } from '../../runtime';
import { badRequest } from '../../errors';
import { writer } from '../auth';
import { accepts } from '../errors';
import { oneValue } from '../schemas';
import { idParam, parseBody, parseQuery } from '../validation';
import { reply, shaped } from '../responses/common';
import { Deliveries, Webhook, Webhooks } from '../responses/admin';
import { LevelEvent } from '../responses/summary';

export const webhookBody = z.strictObject({
  url: z.string().url('must be an http(s) URL').regex(/^https?:\/\//, 'must be an http(s) URL').max(2000),
  secret: z
    .string()
    .min(16, 'must be at least 16 characters')
    .max(200)
    // a Standard Webhooks secret: whsec_ and 24–64 random bytes in base64 (a shorter key signs like a zero-padded one)
    .superRefine((v, ctx) => {
      if (!v.startsWith('whsec_')) return;
      if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(v)) ctx.addIssue({ code: 'custom', message: 'a whsec_ secret must be base64 after whsec_' });
      else if (Buffer.from(v.slice(6), 'base64').length < 24) ctx.addIssue({ code: 'custom', message: 'a whsec_ secret must hold at least 24 bytes (e.g. whsec_ + openssl rand -base64 32)' });
    }),
});
export const streamQuery = z.strictObject({ since_id: z.preprocess(oneValue, z.coerce.number().int().min(0)).optional() });

const POLL_MS = 500;

const HEARTBEAT_MS = 15_000;


/** Level changes as a Server-Sent Events stream, and webhooks (admins). */
export function eventsRouter(rt: Runtime): Routes {
  const r = new Routes();

  /**
   * Each event: `id: <event id>`, `event: level`, `data: {"id","at","area","name","date","from","to","reason"}`.
   * Resumes after `Last-Event-ID` (or `?since_id=`); without either it starts from now.
   */
  r.get('/v1/changes/stream', 'read', async (req, res) => {
    const q = parseQuery(streamQuery, req.query);
    const header = req.get('last-event-id');
    if (header !== undefined && !/^\d+$/.test(header)) throw badRequest('Last-Event-ID must be an event id', [{ path: 'Last-Event-ID', message: 'must be a whole number' }], 'invalid_query');
    let last = header !== undefined ? Number(header) : (q.since_id ?? (await latestEventId(rt)));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const flush = () => (res as unknown as { flush?: () => void }).flush?.();
    res.write(`retry: 2000\n: connected after event ${last}\n\n`);
    flush();
    let open = true;
    const end = () => (open = false);
    const forget = rt.streams.add(end);
    req.on('close', () => {
      open = false;
      forget();
    });
    let quietSince = Date.now();
    while (open) {
      const events = await eventsSince(rt, last, 500);
      for (const e of events) {
        res.write(`id: ${e.id}\nevent: level\ndata: ${JSON.stringify(shaped(LevelEvent, e))}\n\n`);
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
    forget();
    res.end();
  });

  r.post('/v1/webhooks', 'admin', accepts('application/json'), async (req, res) => {
    const body = parseBody(webhookBody, req.body);
    // resolved and checked now, and again before every delivery (DNS may change meanwhile)
    reply(res, Webhook, await newWebhook(rt, body, writer(res)), 201);
  });
  r.get('/v1/webhooks', 'admin', async (_req, res) => {
    reply(res, Webhooks, await webhooks(rt));
  });
  r.delete('/v1/webhooks/:id', 'admin', async (req, res) => {
    reply(res, Webhook, await endWebhook(rt, idParam(req.params.id), writer(res)));
  });
  r.get('/v1/webhooks/:id/deliveries', 'admin', async (req, res) => {
    reply(res, Deliveries, await deliveries(rt, idParam(req.params.id)));
  });
  return r;
}
