/**
 * The API process killed with SIGKILL in the middle of a resumable upload: the upload's state lives in the
 * object store and Redis, not in the process, so once an API is back (same address) the client asks for
 * the offset (HEAD), sends the rest, and the batch completes with the whole dump.
 */
import * as tus from 'tus-js-client';
import type { Config } from '../../core/config';
import { startService, waitForLine, type Service } from '../../bench/processes';
import { freePort } from '../helpers/privateServices';
import { expectBatchEnds, startStack, type Stack } from '../helpers/stack';
import { bigDump, MiB, ndjsonMeta, offsetOf, readObject, sha256, tusUpload } from '../uploads/harness';

const USER = 'user-api-killed';
let stack: Stack;
let api: Service | null = null;
let base: string;

function envOf(config: Config, port: number): Record<string, string> {
  const keys = ['DATABASE_URL', 'REDIS_URL', 'DATABASE_SCHEMA', 'QUEUE_PREFIX', 'STORAGE_DIR', 'ADMIN_TOKEN'] as const;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: String(port), HOST: '127.0.0.1' };
  for (const k of keys) env[k] = String(config[k]);
  return env;
}

async function startApiProcess(port: number): Promise<Service> {
  const s = startService('api', 'api/main.ts', envOf(stack.config, port));
  await waitForLine(s, (l) => l.includes('api listening'));
  return s;
}

beforeAll(async () => {
  // The in-process stack migrates the schema and runs the workers; uploads go to the API process.
  stack = await startStack();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = await startApiProcess(port);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  const keys = await stack.api.deps.redis.keys(`${stack.config.QUEUE_PREFIX}:tus:*`);
  if (keys.length > 0) await stack.api.deps.redis.del(...keys);
  await stack?.close();
});

/** Uploads until the server holds at least `killAfter` bytes, then SIGKILLs the API; the next PATCH fails. */
function uploadUntilKilled(token: string, bytes: Buffer, killAfter: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let killed = false;
    const upload = new tus.Upload(bytes, {
      endpoint: `${base}/v1/uploads`,
      chunkSize: MiB,
      headers: { Authorization: `Bearer ${token}` },
      metadata: ndjsonMeta(sha256(bytes)),
      retryDelays: null, // the client gives up at once: the test resumes it after the restart
      onChunkComplete: (_size, accepted) => {
        if (killed || accepted < killAfter) return;
        killed = true;
        api!.proc.kill('SIGKILL');
      },
      onSuccess: () => reject(new Error('the upload finished before the API was killed')),
      onError: () => (killed ? resolve(upload.url!) : reject(new Error('upload failed before the kill'))),
    });
    upload.start();
  });
}

test('killed mid-upload: the client resumes against the restarted API and the batch completes', async () => {
  const token = await stack.mintToken(USER);
  const dump = bigDump(3.5 * MiB, 'api-killed');
  const url = await uploadUntilKilled(token, dump.bytes, 2 * MiB);
  await new Promise((r) => api!.proc.exitCode !== null || api!.proc.signalCode !== null ? r(null) : api!.proc.once('exit', r));
  api = await startApiProcess(Number(new URL(base).port));

  const resumeAt = await offsetOf(url, token);
  expect(resumeAt).toBeGreaterThanOrEqual(2 * MiB);
  expect(resumeAt).toBeLessThan(dump.bytes.length);
  const rest = await tusUpload(base, token, dump.bytes, { uploadUrl: url });
  expect(rest.stopped).toBe(false);
  expect(rest.batchId).toBeTruthy();
  await expectBatchEnds(stack, rest.batchId!);
  const [b] = await stack.api.deps.ds.query(`SELECT dump_key, dump_sha256, verification FROM migration_batches WHERE id = $1`, [rest.batchId]);
  expect(b.dump_sha256).toBe(dump.sha256);
  expect(sha256(await readObject(stack, b.dump_key))).toBe(dump.sha256); // every byte once, in order
  expect(b.verification.accounting).toMatchObject({ balanced: true, pending: 0 });
}, 120_000);
