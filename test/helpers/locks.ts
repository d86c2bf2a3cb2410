/**
 * Real Postgres locks held from a second connection: the way tests make a phase wait (or time out and
 * retry) at a precise point, with no sleeps and no hooks in the code under test.
 */
import { Client } from 'pg';
import type { Stack } from './stack';

export interface HeldLock {
  /** Commits the locking transaction: the waiting phase goes on. */
  release(): Promise<void>;
}

export async function lockTable(stack: Stack, table: string): Promise<HeldLock> {
  const c = new Client({ connectionString: stack.config.DATABASE_URL, options: `-c search_path=${stack.config.DATABASE_SCHEMA}` });
  await c.connect();
  await c.query('BEGIN');
  await c.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await c.query('COMMIT').catch(() => undefined);
      await c.end();
    },
  };
}

/** Polls a condition the system makes true on its own schedule (a job's state, a row's status). */
export async function until<T>(f: () => Promise<T | undefined | null | false>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Holds a user's row lock (jobs/write/userLock.ts) from a second connection: every phase page and rollback of
 * that user waits at it, after reading what it is about to write.
 */
export async function lockUser(stack: Stack, userId: string): Promise<HeldLock> {
  const c = new Client({ connectionString: stack.config.DATABASE_URL });
  await c.connect();
  await c.query('BEGIN');
  await c.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`bsm:user-rows:${userId}`]);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await c.query('COMMIT').catch(() => undefined);
      await c.end();
    },
  };
}

/** How many sessions wait for an advisory lock (a page blocked at lockUserRows is one). */
export async function advisoryWaiters(stack: Stack): Promise<number> {
  const [r] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
  return r.n;
}

/**
 * How many sessions wait for this user's row lock: unlike advisoryWaiters, blind to other tests' advisory
 * locks on a shared server. An int8 advisory key is held as classid (high 32 bits) and objid (low), objsubid 1.
 */
export async function userLockWaiters(stack: Stack, userId: string): Promise<number> {
  const [r] = await stack.api.deps.ds.query(
    `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
       AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
    [`bsm:user-rows:${userId}`],
  );
  return r.n;
}
