/**
 * `npm start`: applies database migrations, then runs the API and the dashboard, and the workers in a
 * child process (scripts/workerProcess.ts) so a CPU-heavy phase never blocks /healthz or a status poll —
 * still one command, one terminal — and prints the URLs. START_WORKERS_IN_PROCESS=true keeps the workers
 * in this process (small machines). SIGTERM/SIGINT stop intake first, let running jobs finish, then close
 * the API.
 */
import 'reflect-metadata';
import { startApi } from '../api/server';
import { setChildMetricsSource } from '../core/childMetrics';
import { loadConfigOrExit } from '../core/config';
import { createLogger } from '../core/logger';
import { createWorkers } from '../worker/createWorkers';
import { startWorkerProcess } from './workerProcess';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const api = await startApi(config, { migrate: true });
  // Started only now: the migrations are applied, so the workers take jobs at once.
  const workers = config.START_WORKERS_IN_PROCESS
    // Its own root logger: a child of the API's would carry `proc` twice (pino keeps both bindings).
    ? createWorkers({ config, ds: api.deps.ds, store: api.deps.store, log: createLogger(config.LOG_LEVEL, { proc: 'worker' }) })
    : startWorkerProcess({ log: api.log, nice: config.WORKER_NICE });
  if ('metrics' in workers) setChildMetricsSource(() => workers.metrics());
  const lines = [
    `API        ${api.url}/v1`,
    `Dashboard  ${api.url}/admin          (log in with ADMIN_TOKEN or an operator token)`,
    `Queues     ${api.url}/admin/queues   (Bull Board: same login, or basic auth with the token as password)`,
    `Metrics    ${api.url}/metrics`,
    `Health     ${api.url}/healthz  ${api.url}/readyz`,
  ];
  process.stdout.write(`\nbrowser-storage-migrator is running\n  ${lines.join('\n  ')}\n\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    api.log.info({ signal }, 'stopping: closing workers (running jobs finish), then the API');
    if ('close' in workers) await workers.close();
    else await workers.stop();
    setChildMetricsSource(null);
    await api.close();
    process.stdout.write('browser-storage-migrator stopped cleanly\n');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`start failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
