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
 * `npm start` runs API and workers in one process: its /metrics has everything. `npm run worker` serves
 * the worker series on WORKER_METRICS_PORT (startMetricsServer).
 */
import { createServer, type Server } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { Queue } from 'bullmq';
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
export async function collectSharedGauges(src: { ds: DataSource; queues: Queue[]; statuses: readonly string[] }): Promise<void> {
  const rows: { status: string; n: number }[] = await src.ds.query(`SELECT status, count(*)::int AS n FROM migration_batches GROUP BY status`);
  batchesByStatus.reset();
  // Every status is reported, 0 included, so a series never vanishes when its last batch moves on.
  for (const s of src.statuses) batchesByStatus.set({ status: s }, rows.find((r) => r.status === s)?.n ?? 0);
  queueJobs.reset();
  for (const q of src.queues) {
    const counts = await q.getJobCounts(...QUEUE_STATES);
    for (const state of QUEUE_STATES) queueJobs.set({ queue: q.name, state }, counts[state] ?? 0);
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
