/**
 * The README's commands, run as written against a real `npm start` (scripts/start.ts through tsx, in its
 * own schema, queue prefix and storage directory, with the default ADMIN_TOKEN the README uses): mint a
 * token, write and post the sample dump, follow the batch to `completed`, read its report; then the data
 * API block. The only change made to the text is the port (the README's localhost:3000 → this server's).
 * Every step needs a check below, so a step added to those README blocks fails here until it has one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { Shell, readmeShellBlocks, showsPattern, splitSteps, type Ran, type Step } from './helpers/readme';

const ROOT = join(__dirname, '..');
const id = randomBytes(4).toString('hex');
const schema = `t_readme_${id}`;
const prefix = `bsmreadme-${id}`;
const storage = mkdtempSync(join(tmpdir(), 'bsm-readme-objects-'));
const cwd = mkdtempSync(join(tmpdir(), 'bsm-readme-')); // where the snippets write dump.json, batch.json
const dbUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let server: ChildProcess | undefined;
let shell: Shell | undefined;
let output = '';

afterAll(async () => {
  shell?.close();
  if (server && server.exitCode === null) {
    const closed = new Promise((r) => server!.on('close', r));
    server.kill('SIGTERM');
    await closed;
  }
  const c = new Client({ connectionString: dbUrl });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  rmSync(storage, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

/** `npm start`'s command (package.json) with port 0; resolves with the port it printed. */
async function startServer(): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: dbUrl, REDIS_URL: redisUrl, DATABASE_SCHEMA: schema, QUEUE_PREFIX: prefix, STORAGE_DIR: storage, LOG_LEVEL: 'warn' };
  delete env.ADMIN_TOKEN; // the README's ADMIN is the default token
  server = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout!.on('data', (c) => (output += c));
  server.stderr!.on('data', (c) => (output += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 15000);
    server!.stdout!.on('data', () => {
      const m = /API\s+http:\/\/localhost:(\d+)\/v1/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    server!.on('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
}

const json = (r: Ran) => {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(r.stdout);
};
const silent = (r: Ran) => expect(r).toEqual({ stdout: '', stderr: '', code: 0 });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Check = (r: Ran, step: Step, sh: Shell) => Promise<void> | void;

/** What each step must print, found by the start of its command. */
const CHECKS: [RegExp, Check][] = [
  [/^ADMIN=/, silent],
  [/^TOKEN=\$\(curl .*\/v1\/admin\/tokens/, async (r, _s, sh) => {
    silent(r);
    expect((await sh.run('printf %s "$TOKEN"')).stdout).toMatch(/^\S{20,}$/);
  }],
  [/^cat > dump\.json <</, (r) => {
    silent(r);
    expect(JSON.parse(readFileSync(join(cwd, 'dump.json'), 'utf8'))).toMatchObject({ format: 'browser-storage-dump', version: 1 });
  }],
  [/^curl -s -X POST \S+\/v1\/dumps /, (r, step) => {
    expect(json(r)).toMatchObject({ batchId: expect.stringMatching(UUID), status: 'queued' });
    expect(r.stdout).toMatch(showsPattern(step.shows!)); // the output the README shows
  }],
  [/^BATCH=\$\(sed /, async (r, _s, sh) => {
    silent(r);
    expect((await sh.run('printf %s "$BATCH"')).stdout).toMatch(UUID);
  }],
  [/^curl -s \S+\/v1\/batches\/\$BATCH /, async (r, step, sh) => {
    // Run again until the workers are done: what a reader does by hand.
    const deadline = Date.now() + 15000;
    let batch = json(r);
    while (batch.status !== 'completed' && !['failed', 'rolled_back'].includes(batch.status) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      batch = json(await sh.run(step.command));
    }
    expect(batch).toMatchObject({ status: 'completed' });
  }],
  [/^curl -s \S+\/v1\/batches\/\$BATCH\/report /, (r) => {
    const report = json(r);
    const outcomes = Object.fromEntries(report.entries.map((e: { key: string; outcome: string }) => [String(e.key), e.outcome]));
    expect(outcomes).toMatchObject({ contentTypes: 'migrated', website_1: 'migrated' });
  }],
  [/^curl -s \S+\/v1\/cutover /, (r) => expect(json(r)).toHaveProperty('mode')],
  [/^curl -s \S+\/v1\/websites -H/, (r) => expect(JSON.stringify(json(r))).toContain('Coffee Shop')],
  [/^curl -s \S+\/v1\/websites\/website_1\/content-types /, (r) => {
    expect(json(r)).toEqual([expect.objectContaining({ sourceId: 't1', name: 'BlogPost' })]); // the browser's id is kept
  }],
  [/^curl -s -X POST \S+\/v1\/websites\/website_1\/content-items /, (r) => {
    expect(json(r)).toMatchObject({ contentTypeId: 't1', data: { title: 'Hello from the API' } });
  }],
  [/^curl -s -i \S+\/v1\/websites\/website_1 /, (r) => {
    expect(r.stdout).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.stdout).toMatch(/\r\nETag: "[^"]+"\r\n/i);
  }],
];

test('the README quick start and data API commands work as written', async () => {
  const blocks = readmeShellBlocks();
  const quickStart = blocks.find((b) => b.includes('/v1/admin/tokens'));
  const dataApi = blocks.find((b) => b.includes('/v1/cutover'));
  expect(quickStart && dataApi).toBeTruthy();
  const port = await startServer();
  shell = new Shell(cwd, { PATH: process.env.PATH, HOME: process.env.HOME });
  for (const block of [quickStart!, dataApi!]) {
    expect(block).toContain('localhost:3000');
    for (const step of splitSteps(block.replaceAll('localhost:3000', `localhost:${port}`))) {
      const checks = CHECKS.filter(([re]) => re.test(step.command));
      expect({ step: step.command, checks: checks.length }).toEqual({ step: step.command, checks: 1 });
      const ran = await shell.run(step.command);
      try {
        await checks[0][1](ran, step, shell);
      } catch (err) {
        (err as Error).message = `README step:\n${step.command}\n→ ${JSON.stringify(ran)}\n\n${(err as Error).message}`;
        throw err;
      }
    }
  }
}, 40000);
