import { Actor, AuditQuery, listAudit } from '../db/audit';
import { createWebhook, disableWebhook, eventsAfter, lastEventId, LevelEvent, listDeliveries, listWebhooks } from '../db/events';
import { createKey, listKeys, Principal, principalFor, revokeKey, Role } from '../db/keys';

export { ROLES } from '../db/keys';
import { badRequest, unprocessable } from '../errors';
import { isLocalDate, localDateAt } from '../domain/dates';
import { checkTarget, TargetRefused, webhookPolicy } from '../net/targets';
import type { Runtime } from '../runtime';

/**
 * What admins manage — API keys, the audit trail, webhooks — and who a bearer token is.
 * Keys and webhooks are read on the primary (an admin sees their own change at once).
 */

/** A write's actor is always a key: no route that writes admits an anonymous caller. */
export const actorOf = (p: Principal): Actor => (p.keyId === null ? 'admin-key' : `key:${p.keyId}`);

/** The principal a bearer token stands for, or null (unknown, malformed, wrong secret, revoked). */
export function principal(rt: Runtime, token: string) {
  return principalFor(rt.db.knex, rt.keyTouches, token, rt.config.adminKey);
}

export function newKey(rt: Runtime, input: { role: Role; scope: string[]; name?: string | null | undefined }, actor: Actor) {
  return createKey(rt.db, input, actor);
}

export async function keys(rt: Runtime) {
  return { items: await listKeys(rt.db.knex) };
}

export function endKey(rt: Runtime, id: number, actor: Actor) {
  return revokeKey(rt.db, id, actor);
}

export async function auditTrail(rt: Runtime, q: AuditQuery) {
  const tz = rt.config.reportingTimeZone;
  if (q.since && q.until && sinceAfterUntil(q.since, q.until, tz)) {
    throw badRequest('Tham số truy vấn không hợp lệ — invalid query parameters', [{ path: 'until', message: `must not be before since (${q.since})` }], 'invalid_query');
  }
  return listAudit(rt.db.read, q, tz);
}

/**
 * Whether `since` is after `until` (an empty span asked by mistake): as days in the reporting
 * time zone where either is a day (a day is the whole day), else as instants.
 */
function sinceAfterUntil(since: string, until: string, timeZone: string): boolean {
  if (!isLocalDate(since) && !isLocalDate(until)) return Date.parse(since) > Date.parse(until);
  const day = (v: string) => (isLocalDate(v) ? v : localDateAt(new Date(v), timeZone));
  return day(since) > day(until);
}

/** A webhook to an allowed target (resolved and checked now, and again before every delivery: DNS may change). */
export async function newWebhook(rt: Runtime, input: { url: string; secret: string }, actor: Actor) {
  const target = await checkTarget(input.url, webhookPolicy(rt.config)).catch((e: unknown) => {
    // a target refused by the webhook rules (net/targets.ts): 422 naming `url`
    if (e instanceof TargetRefused) throw unprocessable('the webhook URL is not an allowed target', [{ path: 'url', message: e.reason }]);
    throw e;
  });
  return createWebhook(rt.db.knex, { ...input, url: target.url.href }, actor);
}

export async function webhooks(rt: Runtime) {
  return { items: await listWebhooks(rt.db.knex) };
}

export function endWebhook(rt: Runtime, id: number, actor: Actor) {
  return disableWebhook(rt.db.knex, id, actor);
}

export async function deliveries(rt: Runtime, webhookId: number) {
  return { items: await listDeliveries(rt.db.knex, webhookId) };
}

/** The id of the latest level event (a stream without a starting point starts there). */
export function latestEventId(rt: Runtime): Promise<number> {
  return lastEventId(rt.db.read);
}

/** Level events after `afterId`, oldest first, at most `limit`. */
export function eventsSince(rt: Runtime, afterId: number, limit = 500): Promise<LevelEvent[]> {
  return eventsAfter(rt.db.read, afterId, limit);
}
