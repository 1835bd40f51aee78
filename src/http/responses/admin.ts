import { z } from 'zod';
import { AnyObject, Instant, named } from './common';

/** What admins manage: API keys, webhooks and their deliveries, the audit trail. */

export const ApiKey = named(
  z.object({
    id: z.number().int(),
    prefix: z.string(),
    role: z.enum(['admin', 'reporter', 'reader']),
    name: z.string().nullable(),
    scope: z.array(z.string()).describe('a reporter: the areas it reports for'),
    created_at: Instant,
    last_used_at: Instant.nullable(),
    revoked_at: Instant.nullable(),
  }),
  'ApiKey',
  'An API key (never its secret)',
);
export const ApiKeys = z.object({ items: z.array(ApiKey) });
export const NewApiKey = ApiKey.extend({ key: z.string().describe('the key itself: shown once, never again') });

export const Webhook = named(
  z.object({ id: z.number().int(), url: z.string(), created_at: Instant, disabled_at: Instant.nullable(), last_event_id: z.number().int().describe('the last level event delivered or queued') }),
  'Webhook',
  'A webhook (never its secret)',
);
export const Webhooks = z.object({ items: z.array(Webhook) });
export const Deliveries = z.object({
  items: z.array(
    z.object({
      id: z.number().int(),
      webhook_id: z.number().int(),
      first_event_id: z.number().int(),
      last_event_id: z.number().int(),
      status: z.string(),
      attempts: z.number().int(),
      last_status: z.number().int().nullable(),
      last_error: z.string().nullable(),
      delivered_at: Instant.nullable(),
    }),
  ),
});

export const AuditRecord = named(
  z.object({
    id: z.number().int(),
    at: Instant,
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    areas: z.array(z.string()),
    before: z.unknown(),
    after: z.unknown(),
    import_id: z.number().int().nullable().optional().describe('the import batch of the write, if any'),
  }),
  'AuditRecord',
  'A write, as the audit trail records it',
);
export const Audit = z.object({ items: z.array(AuditRecord), next_cursor: z.number().int().nullable() });

export { AnyObject };
