/** API process entry point: `npm run api` (API + dashboard). Run several behind a load balancer. */
import 'reflect-metadata';
import { loadConfigOrExit } from '../core/config';
import { startApi } from './server';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const api = await startApi(config, { migrate: false });
  const stop = async (signal: string) => {
    api.log.info({ signal }, 'api stopping');
    await api.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`api failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
