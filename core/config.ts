/**
 * The one place that reads process.env (docs/style.md §2.8). Validated once at start-up with zod; a bad value
 * stops the process with a message naming the variable. Defaults work on a local machine (docs/http-api.md §4).
 */
import { z } from 'zod';

const DEV_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');
const DEV_ADMIN_TOKEN = 'dev-admin-token-change-me';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z.string().url().default('postgres://postgres:postgres@127.0.0.1:5432/postgres'),
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('public'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z.string().min(1).default('bsm'),
  /** REDIS_URL names one node of a Redis Cluster (core/redis.ts); QUEUE_PREFIX must then hold a hash tag. */
  REDIS_CLUSTER: bool.default(false),
  PORT: int(3000, 0).pipe(z.number().max(65535)),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.string().url().optional(),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').default(DEV_ADMIN_TOKEN),
  ENCRYPTION_KEY: z
    .string()
    .default(DEV_ENCRYPTION_KEY)
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)'),
  ENCRYPTION_KEY_ID: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('k1'),
  /** Older keys still able to decrypt, for rotation: "kid:base64,kid:base64". */
  ENCRYPTION_OLD_KEYS: z.string().default(''),
  STORAGE_DIR: z.string().default('.data/objects'),
  S3_BUCKET: z.string().optional(),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().default('us-east-1'),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  /**
   * The S3 endpoint as browsers reach it, for the presigned part URLs of direct uploads (/v1/uploads/direct),
   * when it differs from S3_ENDPOINT (which the API uses, e.g. an internal host name). Default: S3_ENDPOINT.
   */
  S3_PUBLIC_ENDPOINT: z.string().url().optional(),
  /** How long a presigned part URL of a direct upload stays valid, in seconds. */
  DIRECT_PART_URL_TTL_S: int(900, 10),
  /** Largest resumable upload (/v1/uploads, tus Upload-Length) accepted, in bytes. Default 2 GiB. */
  UPLOAD_MAX_BYTES: int(2 * 1024 ** 3, 1),
  /** An unfinished upload expires this long after its creation (tus expiration); cleanup removes its bytes. */
  UPLOAD_EXPIRY_HOURS: int(24, 1),
  /**
   * Largest size a gzip dump (upload metadata contentEncoding gzip) may inflate to, in bytes; beyond it the
   * upload is refused with 413 dump_too_large_inflated (core/inflate.ts). Default 2 GiB, as UPLOAD_MAX_BYTES.
   */
  INFLATED_DUMP_MAX_BYTES: int(2 * 1024 ** 3, 1),
  /** Stored dumps are deleted this long after upload, unless their batch is active or still within the rollback window. */
  DUMP_RETENTION_DAYS: int(30, 1),
  /** A finished batch (completed, needs_attention, failed, rolled_back) keeps its dump this long after finishing. */
  ROLLBACK_WINDOW_DAYS: int(7, 0),
  /** How often a worker's maintenance queue runs the retention cleanup. */
  CLEANUP_INTERVAL_MINUTES: int(60, 1),
  WORKER_CONCURRENCY: int(4, 1),
  /** How often a worker's maintenance queue runs the reconciler (jobs/maintenance/reconcile.ts); it also runs at worker start. */
  RECONCILE_INTERVAL_MINUTES: int(5, 1),
  /** The reconciler leaves a batch alone this long after its last change (its flow may be being added). */
  RECONCILE_GRACE_MS: int(60_000, 0),
  /**
   * BullMQ stalled-job recovery: a job whose worker died (no lock renewal for WORKER_LOCK_DURATION_MS) is
   * found by the next check, every WORKER_STALLED_INTERVAL_MS, and run again. Defaults are BullMQ's.
   */
  WORKER_LOCK_DURATION_MS: int(30_000, 100),
  WORKER_STALLED_INTERVAL_MS: int(30_000, 100),
  JOB_ATTEMPTS: int(5, 1),
  JOB_BACKOFF_MS: int(2000, 0),
  /** Phase transactions give up waiting for a row/table lock after this long (then retry with backoff). */
  PHASE_LOCK_TIMEOUT_MS: int(10000, 0),
  /**
   * Rows per set-based statement (staged by one COPY, written by one statement). 5000 rather than 1000:
   * fewer statements, COPYs and truncations of the staging table per slice; 200,000 items: ~7 % less
   * Postgres CPU and ~7 % less time end to end, interleaved runs (docs/BENCHMARKS.md, fifth round).
   */
  WRITE_CHUNK_ROWS: int(5000, 1),
  /**
   * A staged entry of a sliceable kind (Catalyst's content-storage) at least this large (bytes of its JSON
   * text) is mapped and written in slices, one job each, that the workers run side by side
   * (jobs/phases/slices.ts). Default 4 MiB (~8,000 content items).
   */
  SLICE_MIN_BYTES: int(4 * 1024 * 1024, 1),
  /** Elements per slice (a slice holds about this many; elements with one key stay in one slice). */
  SLICE_ELEMENTS: int(10_000, 1),
  /**
   * Modules (comma-separated) a dump-check thread loads first (api/uploads/checkThread.ts). The build
   * needs none; the npm scripts that run the TypeScript sources set `tsx/cjs`, their loader. Empty where
   * the sources run without one: large POSTed bodies are then validated inline, and uploads checked after
   * their last byte.
   */
  VALIDATION_THREAD_PRELOAD: z.string().default('').transform((v) => v.split(',').map((m) => m.trim()).filter(Boolean)),
  /**
   * A resumable upload at least this large is hashed, validated and sealed on a thread while its bytes
   * arrive (api/uploads/streamedFinish.ts), so its final PATCH answers at once; a smaller one after its
   * last byte, by reading it back. Default 8 MiB.
   */
  UPLOAD_STREAMED_FINISH_MIN_BYTES: int(8 * 1024 * 1024, 1),
  /** Largest JSON body the data API (/v1/websites…, preferences, deployment configs) takes. */
  DATA_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb|gb)?$/i, 'a size such as 10mb').default('10mb'),
  DUMP_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb|gb)?$/i, 'a size such as 50mb').default('50mb'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Dashboard login sessions live this long in Redis (absolute, not sliding). Default 8 h. */
  ADMIN_SESSION_TTL_S: int(8 * 3600, 60),
  /** How often the dashboard's live streams (SSE) re-read Postgres and push what changed. */
  DASHBOARD_EVENTS_INTERVAL_MS: int(1000, 50),
  /** If set, /metrics (API and worker port) requires "Authorization: Bearer <METRICS_TOKEN>". */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * `npm start` runs the workers in a child process, so CPU-heavy phases never block the API's event loop.
   * `true` keeps them in the API's process (one process, less memory, for small machines; a big phase then
   * slows /healthz and status polls).
   */
  START_WORKERS_IN_PROCESS: bool.default(false),
  /** `npm start`'s worker child runs at this nice value (0 = as the API; 19 = lowest priority). */
  WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /** `npm run worker` serves its metrics on this port (0 = off); `npm start` serves them on the API's /metrics. */
  WORKER_METRICS_PORT: int(9465, 0).pipe(z.number().max(65535)),
  /**
   * Rate limits (api/middleware/rateLimit.ts), counted in Redis so they hold across API instances; 0 turns
   * one off. Defaults sit far above what one person, the test suite or a browser uploader sends.
   * Requests per RATE_LIMIT_WINDOW_S per uploader/operator token (or dashboard session).
   */
  RATE_LIMIT_PER_TOKEN: int(6000, 0),
  /** The admin token's own budget: one shared secret used by scripts and Bull Board, so higher. */
  RATE_LIMIT_PER_ADMIN: int(60000, 0),
  /** Requests under /v1 per client address (req.ip: see TRUST_PROXY), authenticated or not. */
  RATE_LIMIT_PER_IP: int(30000, 0),
  RATE_LIMIT_WINDOW_S: int(60, 1),
  /** Failed dashboard logins (POST /admin/login) per client address per LOGIN_WINDOW_S. */
  LOGIN_LIMIT_PER_IP: int(20, 0),
  LOGIN_WINDOW_S: int(900, 1),
  /**
   * Express' `trust proxy`: which X-Forwarded-* headers to believe for the client address (per-IP limits,
   * audit) and protocol. `true` believes the left-most X-Forwarded-For entry, which a client can write
   * itself; behind N proxies of your own set N, exposed directly set `false`.
   */
  TRUST_PROXY: z
    .string()
    .default('true')
    .refine(
      (v) => /^(true|false|\d+)$/.test(v) || v.split(',').every((p) => /^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)$/.test(p.trim())),
      'true, false, a number of proxies, or addresses/subnets (10.0.0.0/8, loopback) separated by commas',
    )
    .transform((v): boolean | number | string => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v)),
});

export type Config = Readonly<
  z.infer<typeof schema> & {
    encryptionKeys: ReadonlyMap<string, Buffer>;
    s3?: { bucket: string; endpoint?: string; region: string; accessKeyId?: string; secretAccessKey?: string };
  }
>;

export class ConfigError extends Error {}

/** Parses an environment (process.env by default); throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(clean);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (c.NODE_ENV === 'production' && (c.ADMIN_TOKEN === DEV_ADMIN_TOKEN || c.ENCRYPTION_KEY === DEV_ENCRYPTION_KEY)) {
    throw new ConfigError('Invalid configuration:\n  ADMIN_TOKEN/ENCRYPTION_KEY: the development defaults are refused when NODE_ENV=production');
  }
  if (c.REDIS_CLUSTER && !/\{[^{}]+\}/.test(c.QUEUE_PREFIX)) {
    throw new ConfigError(
      `Invalid configuration:\n  QUEUE_PREFIX: with REDIS_CLUSTER=true it must hold a hash tag, e.g. "{bsm}" (it is "${c.QUEUE_PREFIX}"): ` +
        "BullMQ's scripts touch several keys of a queue at once, which Redis Cluster allows only when they share a hash slot",
    );
  }
  const keys = new Map<string, Buffer>([[c.ENCRYPTION_KEY_ID, Buffer.from(c.ENCRYPTION_KEY, 'base64')]]);
  for (const pair of c.ENCRYPTION_OLD_KEYS.split(',').filter(Boolean)) {
    const [kid, b64] = pair.split(':');
    const key = Buffer.from(b64 ?? '', 'base64');
    if (!kid || key.length !== 32) throw new ConfigError('Invalid configuration:\n  ENCRYPTION_OLD_KEYS: expected "kid:base64key,..." with 32-byte keys');
    keys.set(kid, key);
  }
  const s3 = c.S3_BUCKET
    ? { bucket: c.S3_BUCKET, endpoint: c.S3_ENDPOINT, region: c.S3_REGION, accessKeyId: c.AWS_ACCESS_KEY_ID, secretAccessKey: c.AWS_SECRET_ACCESS_KEY }
    : undefined;
  return Object.freeze({ ...c, encryptionKeys: keys, s3 });
}

/** For entry points: load or print the problem and exit(1). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

export const _forTests = { bool };
