/**
 * Prometheus metrics (prom-client). One registry per process, not prom-client's global one, so a library
 * registering its own metrics can never collide with ours. Counters and histograms are process-wide (the
 * Prometheus model); the gauges that describe shared state — batches by status, queue depth — are read
 * from Postgres and Redis when scraped, so every API instance reports the same truth and no worker has to
 * keep them in step.
 *
 * Where each series comes from:
 *  - bsm_http_request_duration_seconds  API, app.ts (labels: route TEMPLATE, never the raw path)
 *  - bsm_upload_bytes_total             API, POST /v1/dumps and the tus uploads (recordUploadBytes)
 *  - bsm_rate_limited_total             API, api/middleware/rateLimit.ts (429s, per limit: ip, token, admin, login)
 *  - bsm_job_duration_seconds           worker, jobs/runPhase.ts (per phase and outcome)
 *  - bsm_rows_written_total             worker, jobs/phases/applyResults.ts (per target table)
 *  - bsm_rejects_total                  worker, jobs/phases/applyResults.ts (per phase and code)
 *  - bsm_batches, bsm_queue_jobs        collected on scrape (collectSharedGauges)
 *  - bsm_batch_outcomes_total           worker, jobs/phases/verify.ts and markPhaseFailed (per status, phase)
 *  - bsm_phase_last_progress_*          worker, jobs/runPhase.ts (running phases only)
 *  - bsm_worker_last_alive_*            worker, worker/heartbeat.ts
 *  - bsm_rollbacks_total                worker, jobs/maintenance/rollback.ts
 *  - bsm_upload_requests_total, bsm_upload_failures_total   API, app.ts (observeUploadOutcome)
 *  - bsm_upload_finish_seconds          API, api/uploads/finishUpload.ts (the final PATCH's work, streamed or read back)
 *  - bsm_cleanup_last_success_*         worker on success, and read from Redis on the API's scrape
The alert rules that use them are in monitoring/prometheus/rules.yml; docs/operations.md is their runbook.
 * `npm start` serves the worker child's series on the API's /metrics too (core/childMetrics.ts). `npm run worker` serves
 * the worker series on WORKER_METRICS_PORT (startMetricsServer).
 */
import { createServer, type Server } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from './logger';

export const registry = new Registry();
// Node's own figures (CPU, memory, event-loop lag, GC) as bsm_process_* / bsm_nodejs_*.
collectDefaultMetrics({ register: registry, prefix: 'bsm_' });

export const httpDuration = new Histogram({
  name: 'bsm_http_request_duration_seconds',
  help: 'HTTP request latency by method, route template and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const uploadBytes = new Counter({
  name: 'bsm_upload_bytes_total',
  help: 'Dump bytes accepted by the API, by way in (dumps = POST /v1/dumps, tus = resumable uploads).',
  labelNames: ['via'] as const,
  registers: [registry],
});

export const rateLimited = new Counter({
  name: 'bsm_rate_limited_total',
  help: 'Requests answered 429 by a rate limit, by limit (ip, token, admin, login).',
  labelNames: ['scope'] as const,
  registers: [registry],
});

export const jobDuration = new Histogram({
  name: 'bsm_job_duration_seconds',
  help: 'Time one attempt of a phase job took, by phase and outcome (completed; retry = failed, will retry; failed = final).',
  labelNames: ['phase', 'outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
  registers: [registry],
});

export const sliceDuration = new Histogram({
  name: 'bsm_slice_duration_seconds',
  help: 'Time one attempt of a slice job (part of a large entry, jobs/phases/slices.ts) took, by phase and outcome (completed; skipped = already applied or the batch rolled back; retry; failed = final).',
  labelNames: ['phase', 'outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
});

export const rowsWritten = new Counter({
  name: 'bsm_rows_written_total',
  help: 'Rows inserted or changed in target tables (unchanged rows are not rewritten). Counted inside the page transaction: a page that rolls back and is retried counts again.',
  labelNames: ['table'] as const,
  registers: [registry],
});

export const rejects = new Counter({
  name: 'bsm_rejects_total',
  help: 'Element rejects recorded (batch_rejects rows), by phase and reason code.',
  labelNames: ['phase', 'code'] as const,
  registers: [registry],
});

export const batchesByStatus = new Gauge({
  name: 'bsm_batches',
  help: 'Batches in Postgres by status (read on scrape).',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const queueJobs = new Gauge({
  name: 'bsm_queue_jobs',
  help: 'Jobs in each BullMQ queue by state (read from Redis on scrape).',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
});

/**
 * Unix time this process's workers last showed they can take work (queues running, Redis answering).
 * A plain gauge, 0 where no worker runs (an API-only process): alerts take max() over all targets, so
 * those zeros never hide a live worker, and a process whose beat stops is noticed within a minute.
 */
export const workerLastAlive = new Gauge({
  name: 'bsm_worker_last_alive_timestamp_seconds',
  help: 'Unix time the workers of this process last had their queues running and Redis answering (0: no worker here).',
  aggregator: 'max', // npm start merges the worker child's value with the API's (core/childMetrics.ts)
  registers: [registry],
});

/**
 * One series per phase attempt running in this process, removed when the attempt ends: a batch id as a
 * label is fine only because at most WORKER_CONCURRENCY of them exist at once.
 */
export const phaseLastProgress = new Gauge({
  name: 'bsm_phase_last_progress_timestamp_seconds',
  help: 'Running phases only: Unix time the phase started or last reported progress.',
  labelNames: ['batch_id', 'phase'] as const,
  registers: [registry],
});

export const batchOutcomes = new Counter({
  name: 'bsm_batch_outcomes_total',
  help: 'Batches whose pipeline ended, by status (completed, needs_attention, failed) and the phase it ended in.',
  labelNames: ['status', 'phase'] as const,
  registers: [registry],
});

export const rollbackOutcomes = new Counter({
  name: 'bsm_rollbacks_total',
  help: 'Rollback jobs that ended, by outcome (ok; failed = final, its batches went back to their status).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const uploadRequests = new Counter({
  name: 'bsm_upload_requests_total',
  help: 'Requests that carry dump bytes: POST /v1/dumps (dumps), deltas (delta), tus POST/PATCH (tus).',
  labelNames: ['via'] as const,
  registers: [registry],
});

export const uploadFailures = new Counter({
  name: 'bsm_upload_failures_total',
  help: 'Upload requests that failed, by way in and reason (refused = the dump or request was refused: 400/413/415; error = 5xx).',
  labelNames: ['via', 'reason'] as const,
  registers: [registry],
});

export const uploadFinish = new Histogram({
  name: 'bsm_upload_finish_seconds',
  help: 'Server work of a resumable upload\'s final request (digest, validation, seal, batch), by how it was checked: streamed = while the bytes arrived, read_back = after the last byte.',
  labelNames: ['how', 'outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

export const cleanupLastSuccess = new Gauge({
  name: 'bsm_cleanup_last_success_timestamp_seconds',
  help: 'Unix time the retention clean-up last succeeded (0: not known to this process).',
  aggregator: 'max', // npm start merges the worker child's value with the API's (core/childMetrics.ts)
  registers: [registry],
});

export const cleanupInterval = new Gauge({
  name: 'bsm_cleanup_interval_seconds',
  help: 'CLEANUP_INTERVAL_MINUTES in seconds, so the clean-up alert follows the configured schedule.',
  aggregator: 'max', // npm start merges the worker child's value with the API's (core/childMetrics.ts)
  registers: [registry],
});

/**
 * Labelled counters have no series until their first increment, and Prometheus' increase() cannot see
 * a series' first step from nothing to 1: the first failure after a restart would never alert. Callers
 * create the label sets they will use at 0 up front.
 */
export function zeroSeries<L extends string>(counter: Counter<L>, sets: Partial<Record<L, string>>[]): void {
  for (const labels of sets) counter.inc(labels, 0);
}

/** Where the worker leaves the last clean-up success, so any API process reports it after restarts. */
const cleanupKey = (prefix: string) => `${prefix}:ops:cleanup-last-success`;
/** Past this the key expires and the alert fires anyway: a clean-up this late is long overdue. */
const CLEANUP_KEY_TTL_S = 7 * 24 * 3600;

/** Called by the worker when a clean-up job completed. */
export async function recordCleanupSuccess(redis: Redis, prefix: string, at = Date.now()): Promise<void> {
  cleanupLastSuccess.set(at / 1000);
  await redis.set(cleanupKey(prefix), String(at), 'EX', CLEANUP_KEY_TTL_S);
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

/** For the tus uploads (api/uploads) and POST /v1/dumps: bytes of a dump the API accepted. */
export function recordUploadBytes(via: 'dumps' | 'tus', bytes: number): void {
  if (bytes > 0) uploadBytes.inc({ via }, bytes);
}

/**
 * Sets the gauges that describe shared state. Called by the /metrics handler with its own dependencies
 * (rather than a gauge `collect` hook bound to one DataSource), so several API stacks in one process —
 * tests do that — each report their own database.
 */
export async function collectSharedGauges(src: {
  ds: DataSource; queues: Queue[]; statuses: readonly string[];
  /** The clean-up's last success (Redis) and its schedule, for the alert on a clean-up that stopped. */
  cleanup?: { redis: Redis; prefix: string; intervalMinutes: number };
}): Promise<void> {
  const rows: { status: string; n: number }[] = await src.ds.query(`SELECT status, count(*)::int AS n FROM migration_batches GROUP BY status`);
  batchesByStatus.reset();
  // Every status is reported, 0 included, so a series never vanishes when its last batch moves on.
  for (const s of src.statuses) batchesByStatus.set({ status: s }, rows.find((r) => r.status === s)?.n ?? 0);
  queueJobs.reset();
  for (const q of src.queues) {
    const counts = await q.getJobCounts(...QUEUE_STATES);
    for (const state of QUEUE_STATES) queueJobs.set({ queue: q.name, state }, counts[state] ?? 0);
  }
  if (src.cleanup) {
    cleanupInterval.set(src.cleanup.intervalMinutes * 60);
    const at = Number(await src.cleanup.redis.get(cleanupKey(src.cleanup.prefix)));
    // Never lower what this process saw itself (npm start: the worker in the same process).
    if (at > 0) cleanupLastSuccess.set(Math.max(at / 1000, (await cleanupLastSuccess.get()).values[0]?.value ?? 0));
  }
}

/** Bearer check for /metrics when METRICS_TOKEN is set; constant-time on digests. */
export function metricsAuthorized(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1].trim()), digest(token));
}

/**
 * The worker process has no HTTP API; this tiny server answers GET /metrics on an internal port (and 404
 * otherwise). Resolves once listening; port 0 picks a free one (tests).
 */
export async function startMetricsServer(opts: { port: number; host: string; token?: string; log: Logger }): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      if (!metricsAuthorized(req.headers.authorization, opts.token)) {
        res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': registry.contentType }).end(await registry.metrics());
    })().catch((err) => {
      opts.log.error({ err: (err as Error).message }, 'metrics scrape failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  opts.log.info({ port }, 'worker metrics listening on /metrics');
  return { server, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
