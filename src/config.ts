import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { parseAllowEntry } from './net/targets';

/** Parses a size such as "32mb", "512kb" or "1048576" into bytes. */
export function parseByteSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = unit === 'gb' ? 1024 ** 3 : unit === 'mb' ? 1024 ** 2 : unit === 'kb' ? 1024 : 1;
  return Math.floor(Number(m[1]) * factor);
}

/**
 * ZONERISK_PUBLIC_URL as the base of absolute links: an http(s) URL with a host, without
 * credentials, query or fragment; a base path is kept and trailing slashes dropped
 * (`https://zonerisk.example.vn/base/` → `https://zonerisk.example.vn/base`). Null if unfit.
 */
export function parsePublicUrl(text: string): string | null {
  if (/[?#\s]/.test(text)) return null;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return null;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname || u.username || u.password) return null;
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/**
 * ZONERISK_TRUST_PROXY in express's `trust proxy` terms: a hop count (1–10), or proxy
 * addresses and CIDR ranges (and proxy-addr's names loopback, linklocal, uniquelocal),
 * comma-separated. `true` (trust everyone) is not offered: any client could then name the host.
 */
export function parseTrustProxy(text: string): number | string[] | null {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= 1 && n <= 10 ? n : null;
  }
  const items = text.split(',').map((s) => s.trim());
  const fits = (item: string) => {
    if (item === 'loopback' || item === 'linklocal' || item === 'uniquelocal') return true;
    const [addr = '', bits, extra] = item.split('/');
    const family = isIP(addr);
    if (!family || extra !== undefined) return false;
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  };
  return items.length > 0 && items.every(fits) ? items : null;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  // optional: streaming replicas for reads, and a direct (or session-pooled) connection for
  // session advisory locks when DATABASE_URL goes through a transaction-mode pooler
  DATABASE_READ_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_SESSION_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  ZONERISK_DATA_DIR: z.string().min(1).default('./.zonerisk'),
  ZONERISK_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  ZONERISK_PUBLIC_READS: booleanText.default(true),
  TZ_REPORTING: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Ho_Chi_Minh').default('Asia/Ho_Chi_Minh'),
  ZONERISK_BODY_LIMIT: z
    .string()
    .transform((v, ctx) => {
      const n = parseByteSize(v);
      if (n === null || n <= 0) {
        ctx.addIssue({ code: 'custom', message: 'must be a size such as 32mb' });
        return z.NEVER;
      }
      return n;
    })
    .default(32 * 1024 * 1024),
  // a recomputation keeps one or two connections for its run; requests need the rest
  ZONERISK_DB_POOL_MAX: z.coerce.number().int().min(3, 'must be at least 3').max(200).default(10),
  // full-detail maps (zones.geojson without zoom) streamed at once; a few more wait, the rest get 503
  ZONERISK_MAX_FULL_MAPS: z.coerce.number().int().min(1, 'must be at least 1').max(64, 'must be at most 64').default(2),
  // briefings (JSON, XLSX, PDF, CSV) made at once: a country's is seconds of reads and a 100-page PDF; a few more wait, the rest get 503
  ZONERISK_MAX_BRIEFINGS: z.coerce.number().int().min(1, 'must be at least 1').max(16, 'must be at most 16').default(2),
  // recompute jobs run at once by this service, each in a process of its own (late data queues, never one process per write)
  ZONERISK_JOB_PROCESSES: z.coerce.number().int().min(1, 'must be at least 1').max(16, 'must be at most 16').default(1),
  ZONERISK_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  // the map page has no basemap unless one is named: it must work without internet
  ZONERISK_BASEMAP_URL: z
    .string()
    .regex(/^https?:\/\/.*\{z\}.*\{x\}.*\{y\}/, 'must be a raster tile URL template with {z}, {x} and {y}')
    .optional(),
  ZONERISK_BASEMAP_ATTRIBUTION: z.string().max(300).optional(),
  // the daily recomputation, local time in TZ_REPORTING; off for an external cron
  // browsers on these origins may call the API (comma-separated; * for any); none by default
  ZONERISK_CORS_ORIGINS: z.string().regex(/^(\*|https?:\/\/[^,\s]+(,https?:\/\/[^,\s]+)*)$/, 'must be * or comma-separated origins such as https://map.example.vn').optional(),
  ZONERISK_WRITE_RATE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  ZONERISK_READ_RATE: z.coerce.number().int().min(1).max(10_000_000).default(12_000),
  // refused requests (401/403) a minute per client address; past it, 429 before any key lookup
  ZONERISK_REFUSAL_RATE: z.coerce.number().int().min(1).max(1_000_000).default(60),
  // slow clients: the whole header block, and the whole request, must arrive within these (seconds)
  ZONERISK_HEADERS_TIMEOUT: z.coerce.number().min(1).max(600).default(15),
  ZONERISK_REQUEST_TIMEOUT: z.coerce.number().min(1).max(3600).default(120),
  // absolute links (OGC, TileJSON) are built on this, never on a request's Host
  ZONERISK_PUBLIC_URL: z
    .string()
    .transform((v, ctx) => parsePublicUrl(v) ?? (ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL such as https://zonerisk.example.vn or https://example.vn/zonerisk (no credentials, query or fragment)' }), z.NEVER))
    .optional(),
  ZONERISK_TRUST_PROXY: z
    .string()
    .transform((v, ctx) => parseTrustProxy(v) ?? (ctx.addIssue({ code: 'custom', message: 'must be a hop count 1–10 or comma-separated proxy addresses/CIDRs such as 10.0.0.1,10.1.0.0/16,loopback' }), z.NEVER))
    .optional(),
  // GET /metrics for a scraper only: its bearer key, and/or a listener of its own (then not on PORT)
  ZONERISK_METRICS_KEY: z.string().min(16, 'must be at least 16 characters').max(200).regex(/^\S+$/, 'must not contain spaces').optional(),
  ZONERISK_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  ZONERISK_SCHEDULE: z.string().regex(/^(off|([01]\d|2[0-3]):[0-5]\d)$/, 'must be HH:MM (24 h, local) or off').default('00:30'),
  // webhook targets: https only unless http is allowed; inside the own network only if allow-listed
  ZONERISK_WEBHOOK_ALLOW_HTTP: booleanText.default(false),
  ZONERISK_WEBHOOK_ALLOW: z
    .string()
    .refine((v) => v.split(',').every((entry) => parseAllowEntry(entry) !== null), 'must be comma-separated host names, addresses or CIDRs such as 10.1.0.0/16,hooks.internal.example')
    .optional(),
});

export type Config = {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  /** Streaming replica(s) for reads (unset: reads go to DATABASE_URL). */
  databaseReadUrl: string | undefined;
  /** Connections that hold session state (advisory locks); unset: DATABASE_URL. */
  databaseSessionUrl: string | undefined;
  /** Seconds a client has to send its headers, and its whole request. */
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  dataDir: string;
  adminKey: string | undefined;
  publicReads: boolean;
  reportingTimeZone: string;
  /** Raster tile URL template for the map page's basemap (none by default). */
  basemapUrl?: string | undefined;
  /** Local time of the daily recomputation, or 'off'. */
  schedule: string;
  /** The origin (and base path) of absolute links, without a trailing slash; null: see http/origin.ts. */
  publicUrl: string | null;
  /** express `trust proxy`: a hop count or proxy addresses/CIDRs; null: no proxy is trusted. */
  trustProxy: number | string[] | null;
  /** Origins allowed by CORS ('*' for any); none by default. */
  corsOrigins: string[] | '*' | null;
  /** Requests per minute per API key (or per address without one): writes, reads. */
  writeRate: number;
  readRate: number;
  /** Refused requests (401/403) a minute per client address before 429. */
  refusalRate: number;
  basemapAttribution?: string | undefined;
  bodyLimitBytes: number;
  dbPoolMax: number;
  /** Full-detail maps streamed at once (each holds its zones and a batch of geometry). */
  maxFullMaps: number;
  maxBriefings: number;
  /** Job processes this service runs at once (the recompute queue's; 1 on the embedded engine). */
  jobProcesses: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** The bearer key a scraper presents for GET /metrics (null: /metrics is a read). */
  metricsKey: string | null;
  /** A listener of its own for GET /metrics, on HOST (null: /metrics is served on PORT). */
  metricsPort: number | null;
  /** Webhooks may use plain http (default: https only). */
  webhookAllowHttp: boolean;
  /** Webhook targets allowed though not public: host names, addresses, CIDRs. */
  webhookAllow: string[];
};

export class ConfigError extends Error {}

/** Reads and validates the environment once; a bad variable stops start-up with its name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset" (docker-compose passes VAR= for optional values).
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (parsed.success && (parsed.data.DATABASE_READ_URL || parsed.data.DATABASE_SESSION_URL) && !parsed.data.DATABASE_URL) {
    throw new ConfigError('invalid configuration: DATABASE_READ_URL and DATABASE_SESSION_URL need DATABASE_URL (the primary)');
  }
  if (parsed.success && parsed.data.ZONERISK_METRICS_PORT !== undefined && parsed.data.ZONERISK_METRICS_PORT === parsed.data.PORT) {
    throw new ConfigError('invalid configuration: ZONERISK_METRICS_PORT: must differ from PORT');
  }
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseReadUrl: e.DATABASE_READ_URL,
    databaseSessionUrl: e.DATABASE_SESSION_URL,
    headersTimeoutSeconds: e.ZONERISK_HEADERS_TIMEOUT,
    requestTimeoutSeconds: e.ZONERISK_REQUEST_TIMEOUT,
    dataDir: path.resolve(e.ZONERISK_DATA_DIR),
    adminKey: e.ZONERISK_ADMIN_KEY,
    publicReads: e.ZONERISK_PUBLIC_READS,
    reportingTimeZone: e.TZ_REPORTING,
    bodyLimitBytes: e.ZONERISK_BODY_LIMIT,
    dbPoolMax: e.ZONERISK_DB_POOL_MAX,
    maxFullMaps: e.ZONERISK_MAX_FULL_MAPS,
    maxBriefings: e.ZONERISK_MAX_BRIEFINGS,
    jobProcesses: e.ZONERISK_JOB_PROCESSES,
    logLevel: e.ZONERISK_LOG_LEVEL,
    basemapUrl: e.ZONERISK_BASEMAP_URL,
    schedule: e.ZONERISK_SCHEDULE,
    webhookAllowHttp: e.ZONERISK_WEBHOOK_ALLOW_HTTP,
    webhookAllow: e.ZONERISK_WEBHOOK_ALLOW?.split(',').map((entry) => entry.trim()) ?? [],
    publicUrl: e.ZONERISK_PUBLIC_URL ?? null,
    trustProxy: e.ZONERISK_TRUST_PROXY ?? null,
    metricsKey: e.ZONERISK_METRICS_KEY ?? null,
    metricsPort: e.ZONERISK_METRICS_PORT ?? null,
    corsOrigins: e.ZONERISK_CORS_ORIGINS === undefined ? null : e.ZONERISK_CORS_ORIGINS === '*' ? '*' : e.ZONERISK_CORS_ORIGINS.split(','),
    writeRate: e.ZONERISK_WRITE_RATE,
    readRate: e.ZONERISK_READ_RATE,
    refusalRate: e.ZONERISK_REFUSAL_RATE,
    basemapAttribution: e.ZONERISK_BASEMAP_ATTRIBUTION,
  };
}
