/** The `bsm` command against a real running API and workers. */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { catalystDump, toNdjson, type DumpDoc } from '../fixtures/catalystDump';
import { startStack, TEST_ADMIN_TOKEN, type Stack } from '../helpers/stack';

const run = promisify(execFile);
/** The CLI from source, as `npm run bsm` runs it (bin/bsm.js runs the compiled one: scripts/check-production-install.sh). */
const BSM = ['--import', 'tsx', join(__dirname, '../../cli/main.ts')];
let stack: Stack;
let dir: string;
let uploader: string;

/** Low, so the tests' dumps are larger than a whole-body POST /v1/dumps may be: `bsm upload` goes through tus. */
const BODY_LIMIT = 32 * 1024;

beforeAll(async () => {
  stack = await startStack({ config: { DUMP_BODY_LIMIT: String(BODY_LIMIT) } });
  uploader = await stack.mintToken('user-cli');
  dir = mkdtempSync(join(tmpdir(), 'bsm-cli-'));
});
afterAll(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = (token: string, extra: Record<string, string> = {}) => ({ ...process.env, BSM_URL: stack.api.url, BSM_TOKEN: token, BSM_STATE_DIR: join(dir, 'state'), ...extra });

async function bsm(args: string[], token = TEST_ADMIN_TOKEN, extra: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...BSM, ...args], { env: env(token, extra) });
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

test('tokens: mint, list (never a secret), revoke (idempotent); a revoked token answers 401', async () => {
  const minted = await bsm(['mint-token', 'user-revoked', '--label', 'laptop']);
  expect(minted.code).toBe(0);
  const secret = minted.out.trim();
  expect(secret).toMatch(/^bsm_/);
  expect((await stack.http.get('/v1/cutover').set('Authorization', `Bearer ${secret}`)).status).toBe(200);
  const list = await bsm(['tokens', '--user', 'user-revoked']);
  expect(list.out).toContain('laptop');
  expect(list.out).not.toContain(secret);
  const id = list.out.split(/\s+/)[0];
  const api = await stack.http.get('/v1/admin/tokens?userId=user-revoked').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
  expect(api.body.tokens).toEqual([expect.objectContaining({ id, userId: 'user-revoked', role: 'uploader', label: 'laptop', revokedAt: null })]);
  expect(JSON.stringify(api.body)).not.toMatch(/bsm_|token_hash|tokenHash/);

  const revoked = await bsm(['revoke-token', id]);
  expect(revoked).toMatchObject({ code: 0, err: '' });
  expect(revoked.out).toContain('revoked');
  const again = await stack.http.delete(`/v1/admin/tokens/${id}`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`);
  expect(again.status).toBe(200);
  expect((await stack.http.get('/v1/cutover').set('Authorization', `Bearer ${secret}`)).status).toBe(401);
  expect((await bsm(['tokens', '--user', 'user-revoked'])).out.trim()).toBe('');
  expect((await bsm(['tokens', '--user', 'user-revoked', '--all'])).out).toContain('revoked');
  // Only the admin revokes: an uploader token may not, and an unknown id is 404.
  expect((await stack.http.delete(`/v1/admin/tokens/${id}`).set('Authorization', `Bearer ${uploader}`)).status).toBe(403);
  expect((await stack.http.delete('/v1/admin/tokens/00000000-0000-4000-8000-000000000000').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)).status).toBe(404);
  const [audit] = await stack.api.deps.ds.query(`SELECT details FROM audit_log WHERE action = 'token.revoke' ORDER BY id LIMIT 1`);
  expect(audit.details.tokenId).toBe(id);
});

/** The fixture dump padded with `n` unclassified localStorage entries (kept as preserved), to grow it. */
function paddedDump(n: number, tag: string): DumpDoc {
  const doc = catalystDump();
  for (let i = 0; i < n; i++) doc.localStorage.push({ key: `pad-${tag}-${i}`, value: 'x'.repeat(200) });
  return doc;
}

test('a dump larger than DUMP_BODY_LIMIT uploads (tus, several chunks) and migrates', async () => {
  const file = join(dir, 'big.ndjson');
  writeFileSync(file, toNdjson(paddedDump(400, 'big')));
  expect(statSync(file).size).toBeGreaterThan(BODY_LIMIT * 2);
  // The whole-body path refuses it, so what follows went through /v1/uploads.
  const whole = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${uploader}`).set('Content-Type', 'application/x-ndjson').send(toNdjson(paddedDump(400, 'big')));
  expect(whole.status).toBe(413);

  const up = await bsm(['upload', file, '--wait'], uploader, { BSM_CHUNK_BYTES: String(BODY_LIMIT) });
  expect(up).toMatchObject({ code: 0 });
  expect(up.err).toMatch(/\[#+\] 100%/);
  const id = /batch ([0-9a-f-]{36})/.exec(up.out)![1];
  const report = (await stack.http.get(`/v1/batches/${id}/report`).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`)).body;
  expect(report.totals.entries).toBe(report.totals.migrated + report.totals.preserved + report.totals.rejected);
  expect(report.totals.preserved).toBeGreaterThanOrEqual(400);
  expect(readdirSync(join(dir, 'state'))).toEqual([]); // a finished upload leaves no resume state
});

test('an upload killed after its first chunk resumes with the next run (HEAD, then PATCH from there)', async () => {
  const file = join(dir, 'interrupted.ndjson');
  writeFileSync(file, toNdjson(paddedDump(600, 'cut')));
  const size = statSync(file).size;
  const chunk = 4096;
  // The CLI draws the bar once before the first PATCH and again after each chunk: kill it at the second draw.
  const child = spawn(process.execPath, [...BSM, 'upload', file], { env: env(uploader, { BSM_CHUNK_BYTES: String(chunk) }) });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if ((err.match(/\r\[/g) ?? []).length >= 2) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the CLI ended (${code}) before it was killed: ${err}`))));
  });

  const up = await bsm(['upload', file, '--wait'], uploader, { BSM_CHUNK_BYTES: String(chunk * 16) });
  expect(up).toMatchObject({ code: 0 });
  const resumedAt = Number(/resuming the upload at byte (\d+) of (\d+)/.exec(up.err)?.[1]);
  expect(resumedAt).toBeGreaterThan(0);
  expect(resumedAt % chunk).toBe(0);
  expect(resumedAt).toBeLessThan(size);
  const id = /batch ([0-9a-f-]{36})/.exec(up.out)![1];
  expect(up.out).not.toContain('uploaded before');
  const status = await bsm(['status', id]);
  expect(status.out).toContain('status    completed');
});

test('upload --layout generic goes through tus with the layout in its metadata; an unknown layout is refused', async () => {
  const file = join(dir, 'generic.ndjson');
  writeFileSync(file, toNdjson(catalystDump()));
  const up = await bsm(['upload', file, '--layout', 'generic', '--wait'], uploader);
  expect(up.code).toBe(0);
  const id = /batch ([0-9a-f-]{36})/.exec(up.out)![1];
  const [b] = await stack.api.deps.ds.query(`SELECT layout, status, entry_count FROM migration_batches WHERE id = $1`, [id]);
  expect(b).toMatchObject({ layout: 'generic', status: 'completed' });
  const [{ n }] = await stack.api.deps.ds.query(`SELECT count(*)::int AS n FROM browser_entries WHERE batch_id = $1`, [id]);
  expect(n).toBe(b.entry_count);

  const bad = await bsm(['upload', file, '--layout', 'nope'], uploader);
  expect(bad.code).toBe(1);
  expect(bad.err).toContain('unknown_layout');
});

test('gzip: --gzip compresses while uploading, a .gz file goes as it is; every chunk carries its sha256', async () => {
  const checksums: (string | undefined)[] = [];
  const onRequest = (req: import('node:http').IncomingMessage) => {
    if (req.method === 'PATCH' && req.url?.startsWith('/v1/uploads/')) checksums.push(req.headers['upload-checksum'] as string | undefined);
  };
  stack.api.server.on('request', onRequest);
  try {
    const plain = join(dir, 'gz.ndjson');
    writeFileSync(plain, toNdjson(paddedDump(200, 'gz')));
    const compressed = join(dir, 'doc.json.gz');
    writeFileSync(compressed, gzipSync(JSON.stringify(paddedDump(50, 'gzdoc'))));
    for (const [args, key] of [[[plain, '--gzip'], /\.ndjson\.gz\.sealed$/], [[compressed], /\.json\.gz\.sealed$/]] as const) {
      const before = checksums.length;
      const up = await bsm(['upload', ...args, '--wait'], uploader, { BSM_CHUNK_BYTES: '2048' });
      expect(up).toMatchObject({ code: 0 });
      const id = /batch ([0-9a-f-]{36})/.exec(up.out)![1];
      const [batch] = await stack.api.deps.ds.query(`SELECT status, dump_key, dump_bytes FROM migration_batches WHERE id = $1`, [id]);
      expect(batch.status).toBe('completed');
      expect(batch.dump_key).toMatch(key);
      const patches = checksums.slice(before);
      expect(patches.length).toBe(Math.ceil(Number(batch.dump_bytes) / 2048)); // the compressed size, in 2 KiB chunks
      for (const c of patches) expect(c).toMatch(/^sha256 [A-Za-z0-9+/]{43}=$/);
    }
    // The plain dump travelled compressed: far fewer bytes than the file.
    const [gz] = await stack.api.deps.ds.query(`SELECT dump_bytes FROM migration_batches WHERE dump_key LIKE '%.ndjson.gz.sealed' AND user_id = 'user-cli'`);
    expect(Number(gz.dump_bytes)).toBeLessThan(statSync(plain).size / 5);
    expect(readdirSync(tmpdir()).some((f) => f.startsWith('bsm-gzip-') && readdirSync(join(tmpdir(), f)).some((g) => g === 'gz.ndjson.gz'))).toBe(false); // temp file removed
  } finally {
    stack.api.server.off('request', onRequest);
  }
}, 120_000); // two CLI processes and two migrations: minutes on a loaded 2-core box
