/** GET /healthz (the process is up) and GET /readyz (Postgres and Redis answer, and no migration is pending). */
import type { Request, Response } from 'express';
import { pendingMigrations } from '../../core/db';
import type { ApiDeps } from '../context';

export const healthz = (_req: Request, res: Response) => {
  res.json({ status: 'ok' });
};

async function check(f: () => Promise<unknown>, ms = 2000): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([f(), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`no answer within ${ms} ms`)), ms)))]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export function readyz(deps: ApiDeps) {
  return async (_req: Request, res: Response) => {
    let pending: string[] = [];
    const [postgres, redis] = await Promise.all([
      check(async () => {
        pending = await pendingMigrations(deps.ds);
      }),
      check(() => deps.redis.ping()),
    ]);
    // Every request would fail against a schema older than the code: not ready until `npm run migrate`.
    const migrations = pending.length ? { ok: false, error: `pending database migrations: ${pending.join(', ')} (run npm run migrate)`, pending } : { ok: postgres.ok };
    const ok = postgres.ok && redis.ok && migrations.ok;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks: { postgres, redis, migrations } });
  };
}
