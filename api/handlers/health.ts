/** GET /healthz (the process is up) and GET /readyz (Postgres and Redis answer). */
import type { Request, Response } from 'express';
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
    const [postgres, redis] = await Promise.all([check(() => deps.ds.query('SELECT 1')), check(() => deps.redis.ping())]);
    const ok = postgres.ok && redis.ok;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks: { postgres, redis } });
  };
}
