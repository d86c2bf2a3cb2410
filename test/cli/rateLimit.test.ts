/**
 * `bsm` against a real API with a tiny per-token limit: a 429 is waited out (Retry-After), said on stderr,
 * and the command then succeeds; a wait longer than the CLI accepts fails at once with the server's reason.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MAX_WAIT_S } from '../../cli/api';
import { catalystDump, toNdjson } from '../fixtures/catalystDump';
import { startStack, type Stack } from '../helpers/stack';

jest.setTimeout(60000);

const run = promisify(execFile);
/** The CLI from source, as `npm run bsm` runs it (bin/bsm.js runs the compiled one: scripts/check-production-install.sh). */
const BSM = ['--import', 'tsx', join(__dirname, '../../cli/main.ts')];
const WINDOW_S = 5; // long enough for the CLI to start inside the window the test has used up
let stack: Stack;
let slow: Stack;
let dir: string;

beforeAll(async () => {
  [stack, slow] = await Promise.all([
    startStack({ workers: false, config: { RATE_LIMIT_PER_TOKEN: '1', RATE_LIMIT_WINDOW_S: String(WINDOW_S) } }),
    startStack({ workers: false, config: { RATE_LIMIT_PER_TOKEN: '1', RATE_LIMIT_WINDOW_S: String(MAX_WAIT_S * 2) } }),
  ]);
  dir = mkdtempSync(join(tmpdir(), 'bsm-cli-rl-'));
});
afterAll(async () => {
  await Promise.all([stack?.close(), slow?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function bsm(s: Stack, args: string[], token: string): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...BSM, ...args], { env: { ...process.env, BSM_URL: s.api.url, BSM_TOKEN: token } });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

/** Starts a fresh window for the token and spends it (the window begins at its first request). */
async function spend(s: Stack, token: string): Promise<void> {
  const res = await s.http.get('/v1/websites').set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(200);
  expect(res.headers['ratelimit-remaining']).toBe('0');
}

test('upload and status wait out a 429 (Retry-After), say so on stderr, then succeed', async () => {
  const token = await stack.mintToken('cli-limited');
  const file = join(dir, 'dump.ndjson');
  writeFileSync(file, toNdjson(catalystDump()));

  await spend(stack, token);
  const started = Date.now();
  const up = await bsm(stack, ['upload', file], token);
  expect(up).toMatchObject({ code: 0 });
  expect(up.err).toMatch(/rate limited \(HTTP 429\): waiting [1-5] s as the server asks \(Retry-After\), then retry 1 of 3/);
  const id = /batch ([0-9a-f-]{36})/.exec(up.out)![1];

  // The upload used the new window's one request: status is limited at once, waits, and gets its answer.
  const status = await bsm(stack, ['status', id, '--json'], token);
  expect(status.code).toBe(0);
  expect(status.err).toMatch(/rate limited \(HTTP 429\): waiting \d s/);
  expect(JSON.parse(status.out).id).toBe(id);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
});

test('a Retry-After longer than the CLI waits fails at once with the server\'s reason', async () => {
  const token = await slow.mintToken('cli-slow');
  await spend(slow, token);
  const started = Date.now();
  const r = await bsm(slow, ['status', '00000000-0000-4000-8000-000000000000'], token);
  expect(r.code).toBe(1);
  expect(r.err).toContain('429 rate_limited');
  expect(r.err).not.toContain('waiting');
  expect(Date.now() - started).toBeLessThan(MAX_WAIT_S * 1000);
});
