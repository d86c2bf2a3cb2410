/**
 * Private Redis and Postgres instances for fault tests: they get killed and restarted, which must never
 * happen to the machine's shared services (other test files run against them at the same time).
 * Redis runs without persistence, so a restart comes back empty (as a lost Redis would).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { Client } from 'pg';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function until(f: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not ready in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const redisBin = (): string | null => {
  try { return execFileSync('which', ['redis-server']).toString().trim() || null; } catch { return null; }
};

/** Why the binaries a fault test needs are missing (the test skips), or null. Never skipped in CI. */
export function missingBinaries(need: { redis?: boolean; postgres?: boolean }): string | null {
  const missing: string[] = [];
  if (need.redis && !redisBin()) missing.push('redis-server');
  if (need.postgres && !pgBinDir()) missing.push('postgres (/usr/lib/postgresql/<ver>/bin)');
  if (missing.length === 0) return null;
  if (process.env.CI) throw new Error(`fault tests need ${missing.join(', ')} in CI`);
  return `skipped: ${missing.join(', ')} not installed`;
}

export interface PrivateRedis {
  url: string;
  /** SIGKILL: every job, lock and key is gone; the next start is empty. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const r: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      proc = spawn(redisBin()!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
      await until(async () => {
        const c = new IORedis(r.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on('error', () => undefined);
        try { await c.connect(); return (await c.ping()) === 'PONG'; } finally { c.disconnect(); }
      }, 'private redis');
    },
    async kill() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = once(p, 'exit');
      p.kill('SIGKILL');
      await exited;
    },
    stop: () => r.kill(),
  };
  await r.start();
  return r;
}

function pgBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const ver = readdirSync(base).sort((a, b) => Number(b) - Number(a)).find((v) => existsSync(join(base, v, 'bin', 'initdb')));
  return ver ? join(base, ver, 'bin') : null;
}

export interface PrivatePostgres {
  url: string;
  /** `pg_ctl restart -m fast`: every connection is cut, the data stays. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** initdb refuses to run as root: the cluster belongs to the `postgres` user, in its own tmp dir. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = pgBinDir()!;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bsm-pg-'));
  chmodSync(dir, 0o700);
  const asPostgres = (cmd: string) => execFileSync('su', ['postgres', '-c', cmd], { stdio: 'pipe' });
  execFileSync('chown', ['postgres:postgres', dir]);
  asPostgres(`${bin}/initdb -D ${dir}/data -A trust -U postgres >/dev/null`);
  const ctl = (action: string) => asPostgres(`${bin}/pg_ctl -D ${dir}/data -w -l ${dir}/log -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off" ${action}`);
  ctl('start');
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const ready = async () => { const c = new Client({ connectionString: url }); try { await c.connect(); return true; } finally { await c.end().catch(() => undefined); } };
  await until(ready, 'private postgres');
  return {
    url,
    async restart() {
      ctl('-m fast restart');
      await until(ready, 'private postgres');
    },
    async stop() {
      try { ctl('-m immediate stop'); } catch { /* already stopped */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateRedisCluster {
  /** One node's URL (REDIS_URL with REDIS_CLUSTER=true); the others are discovered. */
  url: string;
  ports: number[];
  stop(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  const srv = createServer();
  const ok = await new Promise<boolean>((r) => { srv.once('error', () => r(false)); srv.listen(port, '127.0.0.1', () => r(true)); });
  if (ok) await new Promise((r) => srv.close(r));
  return ok;
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(taken: number[]): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p <= 55_000 && !taken.includes(p) && (await portFree(p + 10_000))) return p;
  }
}

/** A real three-master Redis Cluster (no replicas, nothing on disk), for the cluster test. */
export async function startPrivateRedisCluster(): Promise<PrivateRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bsm-redis-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await clusterPort(ports));
  const procs = ports.map((port) => spawn(redisBin()!, [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no',
    '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir,
  ], { stdio: 'ignore' }));
  const stop = async () => {
    await Promise.all(procs.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = once(p, 'exit');
      p.kill('SIGKILL');
      await exited;
    }));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      await until(async () => {
        const c = new IORedis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on('error', () => undefined);
        try { await c.connect(); return (await c.ping()) === 'PONG'; } finally { c.disconnect(); }
      }, `cluster node ${port}`);
    }
    execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
    await until(async () => {
      const c = new IORedis(ports[0], '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try { await c.connect(); return /cluster_state:ok/.test(String(await c.call('CLUSTER', 'INFO'))); } finally { c.disconnect(); }
    }, 'cluster state ok');
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${ports[0]}`, ports, stop };
}
