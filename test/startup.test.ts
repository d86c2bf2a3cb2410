/**
 * `npm start` on this machine: migrations applied, API + workers + dashboard up; /readyz answers 200 and
 * Bull Board lists the queues; /metrics carries the worker child's series; SIGTERM stops it cleanly, the
 * worker child included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const ADMIN = 'startup-admin-token-0123456789';
const id = randomBytes(4).toString('hex');
const schema = `t_start_${id}`;
const storage = mkdtempSync(join(tmpdir(), 'bsm-start-'));
const dbUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
let proc: ChildProcess;
let output = '';

afterAll(async () => {
  if (proc && proc.exitCode === null) process.kill(-proc.pid!, 'SIGKILL');
  const c = new Client({ connectionString: dbUrl });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
  rmSync(storage, { recursive: true, force: true });
});

test('npm start serves /readyz and Bull Board, and stops on SIGTERM', async () => {
  proc = spawn('npm', ['start'], {
    cwd: join(__dirname, '..'),
    detached: true,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: dbUrl, DATABASE_SCHEMA: schema, QUEUE_PREFIX: `bsmstart-${id}`, STORAGE_DIR: storage, ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (c) => (output += c));
  proc.stderr!.on('data', (c) => (output += c));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 25000);
    const check = () => {
      const m = /API\s+(http:\/\/localhost:\d+)\/v1/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    proc.on('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
  });
  const ready = await fetch(`${base}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ status: 'ready', checks: { postgres: { ok: true }, redis: { ok: true } } });
  const board = await fetch(`${base}/admin/queues/api/queues`, { headers: { Authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` } });
  expect(board.status).toBe(200);
  const body = (await board.json()) as { queues: { name: string }[] };
  expect(body.queues.map((q) => q.name).sort()).toEqual(['maintenance', 'migration']);
  const page = await fetch(`${base}/admin/queues`, { headers: { Authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` } });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<html');
  // The workers run in a child process; the API's /metrics still shows their heartbeat (core/childMetrics.ts).
  let alive = 0;
  for (let i = 0; i < 50 && alive === 0; i++) {
    const text = await (await fetch(`${base}/metrics`)).text();
    alive = Number(/^bsm_worker_last_alive_timestamp_seconds (\S+)$/m.exec(text)?.[1] ?? 0);
    if (alive === 0) await new Promise((r) => setTimeout(r, 100));
  }
  expect(alive).toBeGreaterThan(0);
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve())); // all stdio closed: the app too
  // npm forwards SIGTERM to the app (then re-raises it on itself); the app closes workers and the API first.
  proc.kill('SIGTERM');
  await exited;
  expect(output).toContain('stopped cleanly');
  // Nothing left in the process group: the worker child exited too (ESRCH), not orphaned.
  expect(() => process.kill(-proc.pid!, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
}, 40000);
