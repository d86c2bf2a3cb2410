/**
 * `npm start` on this machine: migrations applied, API + workers + dashboard up; /readyz answers 200 and
 * Bull Board lists the queues; /metrics carries the worker child's series; SIGTERM stops it cleanly, the
 * worker child included.
 */
import type { ChildProcess } from 'node:child_process';
import { npmStart, type NpmStart } from './helpers/npmStart';

const ADMIN = 'startup-admin-token-0123456789';
let app: NpmStart | undefined;

afterAll(() => app?.cleanup());

test('npm start serves /readyz and Bull Board, and stops on SIGTERM', async () => {
  app = await npmStart('start', { ADMIN_TOKEN: ADMIN });
  const { base } = app;
  const proc: ChildProcess = app.proc;
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
  // The worker child runs at WORKER_NICE (10 by default), the API at the group's own priority.
  const { execFileSync } = await import('node:child_process');
  const ps = execFileSync('ps', ['-o', 'ni=,args=', '-g', String(proc.pid)]).toString().split('\n').filter(Boolean);
  const niceOf = (re: RegExp) => ps.filter((l) => re.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
  expect(niceOf(/worker[/\\]main/)).toEqual([10]);
  expect(niceOf(/scripts[/\\]start/)).toEqual([0]);
  // …with the heap flags of `npm run worker` (scripts/workerProcess.ts): the bounded old space and the larger young generation.
  const workerArgs = ps.find((l) => /worker[/\\]main/.test(l))!;
  expect(workerArgs).toContain('--max-old-space-size=1024');
  expect(workerArgs).toContain('--max-semi-space-size=32');
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve())); // all stdio closed: the app too
  // npm forwards SIGTERM to the app (then re-raises it on itself); the app closes workers and the API first.
  proc.kill('SIGTERM');
  await exited;
  expect(app.output()).toContain('stopped cleanly');
  // Nothing left in the process group: the worker child exited too (ESRCH), not orphaned. Its exit and
  // reaping can trail npm's stdio closing by a moment on a loaded machine, so give it up to 5 s.
  const groupAlive = () => { try { process.kill(-proc.pid!, 0); return true; } catch { return false; } };
  for (let i = 0; i < 50 && groupAlive(); i++) await new Promise((r) => setTimeout(r, 100));
  expect(() => process.kill(-proc.pid!, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
}, 40000);
