/** The `bsm` command against a real running API and workers. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { catalystDump, toNdjson } from '../fixtures/catalystDump';
import { startStack, TEST_ADMIN_TOKEN, type Stack } from '../helpers/stack';

const run = promisify(execFile);
const BIN = join(__dirname, '../../bin/bsm.js');
let stack: Stack;
let dir: string;
let uploader: string;

beforeAll(async () => {
  stack = await startStack();
  uploader = await stack.mintToken('user-cli');
  dir = mkdtempSync(join(tmpdir(), 'bsm-cli-'));
});
afterAll(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

async function bsm(args: string[], token = TEST_ADMIN_TOKEN): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, BSM_URL: stack.api.url, BSM_TOKEN: token } });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

test('upload with a progress bar, status, batches, rollback, retry and verify', async () => {
  const file = join(dir, 'dump.ndjson');
  writeFileSync(file, toNdjson(catalystDump()));
  const up = await bsm(['upload', file, '--wait'], uploader);
  expect(up.code).toBe(0);
  expect(up.err).toMatch(/\[#+\] 100%/);
  const id = /batch ([0-9a-f-]{36})/.exec(up.out)![1];

  const status = await bsm(['status', id]);
  expect(status.code).toBe(0);
  expect(status.out).toContain('status    completed');
  expect(status.out).toMatch(/contentItems\s+completed\s+1\/1/);

  const list = await bsm(['batches', '--status', 'completed']);
  expect(list.out).toContain(id);

  const verify = await bsm(['verify', id]);
  expect(verify).toMatchObject({ code: 0, out: 'verified: ok\n' });

  const rb = await bsm(['rollback', id, '--wait']);
  expect(rb.code).toBe(0);
  expect(rb.out).toContain(`rolling back ${id}`);

  const retry = await bsm(['retry', id]);
  expect(retry.code).toBe(0);
  expect(retry.out).toContain('queued (run 2');

  const denied = await bsm(['rollback', id], uploader);
  expect(denied.code).toBe(1);
  expect(denied.err).toContain('403 forbidden');
});

test('a bad dump file gets the server\'s reason and exit code 1', async () => {
  const file = join(dir, 'bad.json');
  writeFileSync(file, '{"format":"nope"}');
  const r = await bsm(['upload', file], uploader);
  expect(r.code).toBe(1);
  expect(r.err).toMatch(/400 dump_/);
});
