import path from 'node:path';
import { z } from 'zod';

/** Parses a size such as "32mb", "512kb" or "1048576" into bytes. */
export function parseByteSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = unit === 'gb' ? 1024 ** 3 : unit === 'mb' ? 1024 ** 2 : unit === 'kb' ? 1024 : 1;
  return Math.floor(Number(m[1]) * factor);
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
  // slow clients: the whole header block, and the whole request, must arrive within these (seconds)
  ZONERISK_HEADERS_TIMEOUT: z.coerce.number().min(1).max(600).default(15),
  ZONERISK_REQUEST_TIMEOUT: z.coerce.number().min(1).max(3600).default(120),
  ZONERISK_SCHEDULE: z.string().regex(/^(off|([01]\d|2[0-3]):[0-5]\d)$/, 'must be HH:MM (24 h, local) or off').default('00:30'),
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
  /** Origins allowed by CORS ('*' for any); none by default. */
  corsOrigins: string[] | '*' | null;
  /** Requests per minute per API key (or per address without one): writes, reads. */
  writeRate: number;
  readRate: number;
  basemapAttribution?: string | undefined;
  bodyLimitBytes: number;
  dbPoolMax: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
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
    logLevel: e.ZONERISK_LOG_LEVEL,
    basemapUrl: e.ZONERISK_BASEMAP_URL,
    schedule: e.ZONERISK_SCHEDULE,
    corsOrigins: e.ZONERISK_CORS_ORIGINS === undefined ? null : e.ZONERISK_CORS_ORIGINS === '*' ? '*' : e.ZONERISK_CORS_ORIGINS.split(','),
    writeRate: e.ZONERISK_WRITE_RATE,
    readRate: e.ZONERISK_READ_RATE,
    basemapAttribution: e.ZONERISK_BASEMAP_ATTRIBUTION,
  };
}
