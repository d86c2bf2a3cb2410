/**
 * An in-process S3 (s3rver) for the upload suites (test/uploads, test/client) and bench/direct.ts. s3rver 3.7.1 stores multipart uploads but answers
 * ListParts, AbortMultipartUpload and ListMultipartUploads with 405/501, and @tus/s3-store needs the first
 * two on every PATCH and termination (it resumes by listing the parts already uploaded). This helper adds
 * those three operations as a Koa middleware in front of s3rver's router, reading s3rver's own
 * on-disk layout (`<bucket uploads dir>/<uploadId>/{key,<n>,<n>.md5}`); everything else is s3rver's.
 */
import { promises as fsp } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

interface KoaCtx {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  status: number;
  body: unknown;
}
type Middleware = (ctx: KoaCtx, next: () => Promise<void>) => Promise<void>;
interface S3rverInstance {
  middleware: Middleware[];
  store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;
// s3rver ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver: S3rverCtor = require('s3rver');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3Error: new (code: string, message?: string) => Error = require('s3rver/lib/models/error');

/**
 * What docs/operations.md asks of a bucket that browsers upload parts to directly: any origin may PUT
 * (the presigned URL is the authorisation) with its Content-MD5, and may read the ETag S3 answers.
 */
export const BROWSER_CORS = `<CORSConfiguration><CORSRule>
  <AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>
  <AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds>
</CORSRule></CORSConfiguration>`;

export interface TestS3 {
  bucket: string;
  endpoint: string;
  /** Config overrides that point the app at this server (docs/http-api.md §4). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startS3(bucket = 'uploads-test'): Promise<TestS3> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bsm-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [BROWSER_CORS] }] });
  // Before the router (the last middleware), after s3rver's XML encoder, which serialises our bodies.
  server.middleware.splice(server.middleware.length - 1, 0, multipartExtras(server));
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    bucket,
    endpoint,
    env: { S3_BUCKET: bucket, S3_ENDPOINT: endpoint, S3_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    async close() {
      await server.close();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

function multipartExtras(server: S3rverInstance): Middleware {
  return async (ctx, next) => {
    const [bucket, ...rest] = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
    const key = rest.join('/');
    const uploadsDir = bucket ? server.store.getResourcePath(bucket, undefined, 'uploads') : '';
    const uploadId = ctx.query.uploadId;
    if (ctx.method === 'GET' && key && uploadId && ctx.query.partNumber === undefined) {
      ctx.body = { ListPartsResult: { Bucket: bucket, Key: key, UploadId: uploadId, IsTruncated: false, Part: await partsOf(path.join(uploadsDir, uploadId)) } };
      return;
    }
    if (ctx.method === 'DELETE' && key && uploadId) {
      await existing(path.join(uploadsDir, uploadId));
      await fsp.rm(path.join(uploadsDir, uploadId), { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'GET' && !key && bucket && 'uploads' in ctx.query) {
      ctx.body = { ListMultipartUploadsResult: { Bucket: bucket, IsTruncated: false, Upload: await uploadsIn(uploadsDir, ctx.query.prefix ?? '') } };
      return;
    }
    await next();
  };
}

async function existing(dir: string): Promise<void> {
  try {
    await fsp.access(path.join(dir, 'key'));
  } catch {
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
  }
}

async function partsOf(dir: string): Promise<{ PartNumber: number; ETag: string; Size: number; LastModified: string }[]> {
  await existing(dir);
  const numbers = (await fsp.readdir(dir)).filter((f) => /^\d+$/.test(f)).map(Number).sort((a, b) => a - b);
  const parts = [];
  for (const n of numbers) {
    const st = await fsp.stat(path.join(dir, String(n)));
    const md5 = (await fsp.readFile(path.join(dir, `${n}.md5`), 'utf8')).trim();
    parts.push({ PartNumber: n, ETag: `"${md5}"`, Size: st.size, LastModified: st.mtime.toISOString() });
  }
  return parts;
}

async function uploadsIn(dir: string, prefix: string): Promise<{ Key: string; UploadId: string; Initiated: string }[]> {
  const ids = await fsp.readdir(dir).catch(() => [] as string[]);
  const out = [];
  for (const id of ids) {
    const key = await fsp.readFile(path.join(dir, id, 'key'), 'utf8').catch(() => null);
    if (key === null || !key.startsWith(prefix)) continue;
    out.push({ Key: key, UploadId: id, Initiated: (await fsp.stat(path.join(dir, id, 'key'))).mtime.toISOString() });
  }
  return out;
}
