/**
 * `npm start`: applies database migrations, then runs the API, the dashboard and the workers in one
 * process (one command, one terminal) and prints the URLs. SIGTERM/SIGINT stop intake first, then let
 * running jobs finish.
 */
import 'reflect-metadata';
import { startApi } from '../api/server';
import { loadConfigOrExit } from '../core/config';
import { createLogger } from '../core/logger';
import { createWorkers } from '../worker/createWorkers';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const api = await startApi(config, { migrate: true });
  // Its own root logger: a child of the API's would carry `proc` twice (pino keeps both bindings).
  const workers = createWorkers({ config, ds: api.deps.ds, store: api.deps.store, log: createLogger(config.LOG_LEVEL, { proc: 'worker' }) });
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
    await workers.close();
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
