/**
 * `npm start`'s worker child: the workers run in their own Node process so a CPU-heavy phase (parsing a
 * 100 MB entry, transforming 100k items) never blocks the API's event loop (/healthz, status polls).
 *
 *  - forked after the API applied the migrations, from worker/main next to this file (`.ts` under tsx,
 *    `.js` in dist/), with this process's execArgv (`--import tsx` in development) plus the heap flags
 *    `npm run worker` uses (each unless this process was started with it);
 *  - its stdout/stderr are inherited: each JSON log line is the child's own, `proc: 'worker'` included;
 *  - an unexpected exit is logged and the child restarted with exponential backoff (reset once it ran
 *    for a minute), so a crash loop cannot spin the CPU;
 *  - stop() sends SIGTERM and waits for the exit: the child stops taking jobs and lets running ones finish
 *    (worker/main.ts), then the caller closes the API — today's order;
 *  - the child runs at a lower CPU priority (`nice`, WORKER_NICE): when both want the CPU, the API's
 *    answers come first and the migration waits, which is the order users notice least;
 *  - metrics() asks the child over the IPC channel for its registry as JSON (worker/ipcMetrics.ts): no
 *    second port to allocate or collide with an `npm run worker` on WORKER_METRICS_PORT, no token.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setPriority } from 'node:os';
import { extname, join } from 'node:path';
import type { MetricFamily as metric } from '../core/childMetrics';
import type { Logger } from '../core/logger';

/**
 * As `npm run worker` (package.json). The old space bounds the heap (without it V8 on a large machine lets it
 * grow to ~4x the live set); young generation semi-spaces of 32 MB instead of 16 let a slice's parsed items
 * and rows die young instead of being promoted and marked (200,000 items: ~2 s less worker CPU, ~10 %; peak
 * RSS on the 500 MB dump 238 → 277 MB, target 300: docs/BENCHMARKS.md).
 */
const HEAP_FLAGS = ['--max-old-space-size=1024', '--max-semi-space-size=32'];
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
/** A child that lived this long is considered healthy again: the next crash restarts it quickly. */
const HEALTHY_AFTER_MS = 60_000;
/** A scrape does not wait longer than this for a busy child: the API's own series are answered anyway. */
const METRICS_TIMEOUT_MS = 2000;

export interface WorkerProcess {
  /** The child's metric families (prom-client JSON), or null if it is not running or did not answer in time. */
  metrics(): Promise<metric[] | null>;
  /** SIGTERM to the child (running jobs finish), resolved when it exited; no restart afterwards. */
  stop(): Promise<void>;
}

export function workerEntry(): string {
  // scripts/workerProcess.ts -> worker/main.ts; dist/scripts/workerProcess.js -> dist/worker/main.js.
  return join(__dirname, '..', 'worker', `main${extname(__filename)}`);
}

export function startWorkerProcess(opts: { log: Logger; env?: NodeJS.ProcessEnv; nice?: number }): WorkerProcess {
  const { log } = opts;
  const given = (flag: string) => process.execArgv.some((a) => a.startsWith(flag.split('=')[0]));
  const execArgv = [...process.execArgv, ...HEAP_FLAGS.filter((f) => !given(f))];
  let child: ChildProcess | null = null;
  let stopping = false;
  let backoff = BACKOFF_MIN_MS;
  let restartTimer: NodeJS.Timeout | null = null;
  const pending = new Map<string, (m: metric[] | null) => void>();

  const spawnChild = () => {
    const startedAt = Date.now();
    const c = fork(workerEntry(), [], {
      execArgv,
      // The child's metrics travel over IPC; its own port stays off so it never takes WORKER_METRICS_PORT
      // from a separately run `npm run worker`.
      env: { ...(opts.env ?? process.env), WORKER_METRICS_PORT: '0', BSM_SUPERVISED: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child = c;
    if (opts.nice && c.pid) {
      try {
        setPriority(c.pid, opts.nice);
      } catch (err) {
        log.warn({ err: (err as Error).message, nice: opts.nice }, 'could not lower the worker process priority');
      }
    }
    log.info({ pid: c.pid, nice: opts.nice ?? 0 }, 'worker process started');
    c.on('message', (msg: { type?: string; id?: string; metrics?: metric[] }) => {
      if (msg?.type !== 'metrics' || !msg.id) return;
      pending.get(msg.id)?.(msg.metrics ?? null);
    });
    c.on('exit', (code, signal) => {
      child = null;
      for (const resolve of pending.values()) resolve(null);
      pending.clear();
      if (stopping) return;
      if (Date.now() - startedAt >= HEALTHY_AFTER_MS) backoff = BACKOFF_MIN_MS;
      log.error({ code, signal, restartInMs: backoff }, 'worker process exited unexpectedly; restarting');
      restartTimer = setTimeout(() => {
        restartTimer = null;
        if (!stopping) spawnChild();
      }, backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    });
  };
  spawnChild();

  return {
    metrics() {
      const c = child;
      if (!c?.connected) return Promise.resolve(null);
      const id = randomUUID();
      return new Promise((resolve) => {
        const timer = setTimeout(() => done(null), METRICS_TIMEOUT_MS);
        const done = (m: metric[] | null) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(m);
        };
        pending.set(id, done);
        c.send({ type: 'metrics', id }, (err) => err && done(null));
      });
    },
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      await exited;
      log.info('worker process stopped');
    },
  };
}
