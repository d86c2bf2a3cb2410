/** Builds the API's dependencies, listens, and closes everything in order on shutdown. */
import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Config } from '../core/config';
import { openDatabase } from '../core/db';
import { createLogger, type Logger } from '../core/logger';
import { createObjectStore } from '../core/objectStore';
import { createQueues } from '../core/queues';
import { createRedis } from '../core/redis';
import { createApp } from './app';
import type { ApiDeps } from './context';

export interface RunningApi {
  deps: ApiDeps;
  app: Express;
  server: Server;
  url: string;
  log: Logger;
  close(): Promise<void>;
}

export async function startApi(config: Config, opts: { migrate: boolean; log?: Logger }): Promise<RunningApi> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL, { proc: 'api' });
  const ds = await openDatabase({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, applicationName: 'bsm-api', migrate: opts.migrate });
  const redis = createRedis(config.REDIS_URL, 'producer', log, config.REDIS_CLUSTER);
  const queues = createQueues(config, redis, log);
  const store = createObjectStore({ storageDir: config.STORAGE_DIR, s3: config.s3 });
  const deps: ApiDeps = { config, ds, redis, queues, store, log };
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(config.PORT, config.HOST, () => resolve(s));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  const url = `http://localhost:${port}`;
  log.info({ url }, 'api listening');
  return {
    deps, app, server, url, log,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      for (const stop of (app.locals.onClose ?? []) as (() => Promise<void>)[]) await stop();
      await queues.close();
      await redis.quit().catch(() => redis.disconnect());
      await ds.destroy();
    },
  };
}
