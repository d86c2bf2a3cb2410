/** Worker process entry point: `npm run worker`. Run as many as the load needs. */
import 'reflect-metadata';
import { loadConfigOrExit } from '../core/config';
import { openDatabase, whenMigrated } from '../core/db';
import { createLogger } from '../core/logger';
import { registry, startMetricsServer } from '../core/metrics';
import { createObjectStore } from '../core/objectStore';
import { createWorkers } from './createWorkers';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, { proc: 'worker' });
  const ds = await openDatabase({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, applicationName: 'bsm-worker', migrate: false });
  const store = createObjectStore({ storageDir: config.STORAGE_DIR, s3: config.s3 });
  // No job against a schema older than this code: wait for `npm run migrate` (or an API with migrate on).
  await whenMigrated(ds, (pending) => log.warn({ pending }, 'waiting for database migrations before taking jobs (run npm run migrate)'));
  const workers = createWorkers({ config, ds, store, log });
  log.info({ concurrency: config.WORKER_CONCURRENCY }, 'worker started');
  // No HTTP API here: job durations, rows written and rejects are scraped from this internal port.
  // A second worker on the same machine finds the port taken: it works on, without its own metrics port.
  const metrics = config.WORKER_METRICS_PORT > 0
    ? await startMetricsServer({ port: config.WORKER_METRICS_PORT, host: config.HOST, token: config.METRICS_TOKEN, log }).catch((err: Error) => {
        log.warn({ port: config.WORKER_METRICS_PORT, err: err.message }, 'worker metrics port unavailable; running without it');
        return null;
      })
    : null;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'worker stopping: letting running jobs finish');
    await workers.close();
    await metrics?.close();
    await ds.destroy();
    log.info('worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (process.send) serveSupervisor(() => void stop('supervisor gone'));
}

/**
 * Forked by `npm start` (scripts/workerProcess.ts): its /metrics asks for this registry over the IPC
 * channel, and if the supervisor dies without a SIGTERM (killed), the channel closes and we drain rather
 * than run on orphaned.
 */
function serveSupervisor(onGone: () => void): void {
  process.on('message', (msg: { type?: string; id?: string }) => {
    if (msg?.type !== 'metrics') return;
    void registry.getMetricsAsJSON().then((metrics) => process.send?.({ type: 'metrics', id: msg.id, metrics }));
  });
  process.on('disconnect', onGone);
}

main().catch((err) => {
  process.stderr.write(`worker failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
