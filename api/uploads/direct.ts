/**
 * /v1/uploads/direct: direct-to-S3 multipart uploads (docs/http-api.md §2b), offered only with the S3 driver.
 * The dump's bytes go from the browser straight to the bucket through short-lived presigned part URLs; the
 * API only keeps the upload's record (Postgres, `direct_uploads`), hands out URLs, and at the end checks
 * every part, assembles the object and runs the same finish as a tus upload (finishUpload: whole-dump
 * SHA-256 read back from the store, validation, sealing, batch).
 *
 * Per-part integrity: each part URL is requested with the MD5 of that part's bytes and signs it as
 * `Content-MD5` (and the part's exact `Content-Length`), so AWS S3 refuses a part altered in transit
 * (BadDigest) or of another size. S3-compatible servers that ignore those headers (s3rver does) still
 * store what arrived; so the parts list and the completion compare every stored part's ETag (S3's MD5 of
 * the bytes it stored) and size with what was declared, name the bad parts, and keep the upload open for
 * them to be sent again. Only then is the object assembled and the whole dump's SHA-256 verified.
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, S3Client, UploadPartCommand, type Part,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Upload } from '@tus/utils';
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../core/config';
import { AppError, Errors } from '../../core/errors';
import { S3ObjectStore } from '../../core/objectStore';
import { UPLOADS_PREFIX } from '../../jobs/maintenance/cleanup';
import { BATCH_ID_HEADER, type ApiDeps } from '../context';
import { encodingOf, WebsiteIdSchema } from '../dumpIntake';
import { finishUpload, type FinishingStore } from './finishUpload';
import { checkUploadMetadata } from './metadata';

export const DIRECT_PATH = '/v1/uploads/direct';
/** Where a direct upload's object is assembled: under the uploads prefix, so the clean-up knows it. */
export const DIRECT_KEY_PREFIX = `${UPLOADS_PREFIX}direct/`;

const MiB = 1024 * 1024;
/** S3: every part but the last at least 5 MiB, at most 5 GiB; at most 10,000 parts. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
export const DEFAULT_PART_SIZE = 8 * MiB;
/** A completion that died mid-way (process killed) may be claimed again after this long. */
const STALE_CLAIM_MS = 15 * 60_000;

const ID = /^[0-9a-f]{32}$/;

interface Row {
  id: string;
  user_id: string;
  object_key: string;
  s3_upload_id: string;
  filename: string;
  content_type: string;
  sha256: string;
  size: string;
  part_size: string;
  part_count: number;
  website_id: string | null;
  layout: string | null;
  content_encoding: string | null;
  part_md5: Record<string, string>;
  status: 'open' | 'completing' | 'completed';
  batch_id: string | null;
  created_at: Date;
  expires_at: Date;
}

interface JudgedPart {
  n: number;
  size: number;
  expectedSize: number;
  /** S3's ETag of the stored part, unquoted: the MD5 (hex) of its bytes. */
  etag: string;
  sizeOk: boolean;
  digestOk: boolean;
  ok: boolean;
}

/**
 * A start. The fields a tus upload carries as metadata are checked again by the same checkUploadMetadata
 * (layout, contentEncoding, and one rule for all); here, every problem of the body is named at once.
 */
const StartBody = z.strictObject({
  filename: z.string().min(1).max(255),
  contentType: z.string().refine((t) => encodingOf(t) !== null, 'must be application/json (§1a) or application/x-ndjson (§1b)'),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the 64 hex digits of the SHA-256 of the whole dump as uploaded'),
  size: z.number().int().min(1, 'must be at least 1: an empty upload holds no dump'),
  websiteId: WebsiteIdSchema.optional(),
  layout: z.string().optional(),
  contentEncoding: z.string().optional(),
  partSize: z.number().int().optional(),
});

const PartBody = z.strictObject({
  md5: z.string().refine((s) => /^[A-Za-z0-9+/]{22}==$/.test(s), 'must be the base64 MD5 (16 bytes) of the part\'s bytes'),
});

const CompleteBody = z.strictObject({
  parts: z.array(z.strictObject({ n: z.number().int(), etag: z.string().min(1) })).min(1),
});

function parse<T>(schema: z.ZodType<T>, body: unknown, code: string, what: string): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.'), problem: i.message }));
  throw Errors.badRequest(code, `${what} Problems: ${issues.map((i) => `${i.field || 'body'} ${i.problem}`).join('; ')}.`, { issues });
}

/** Bytes of part `n` (1-based) of an upload of `size` bytes cut into `partSize` parts. */
export function partLength(size: number, partSize: number, n: number): number {
  return Math.min(partSize, size - (n - 1) * partSize);
}

const unquote = (etag: string | undefined): string => (etag ?? '').replace(/"/g, '').toLowerCase();
const md5Hex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');

const unavailable = () =>
  new AppError(404, 'direct_upload_unavailable', 'Direct-to-S3 uploads are offered only when the server stores dumps in S3 (S3_BUCKET). Use the resumable /v1/uploads (tus) instead.');

interface S3Target {
  store: S3ObjectStore;
  /** Signs the part URLs: the endpoint browsers reach (S3_PUBLIC_ENDPOINT), else the store's own client. */
  presigner: S3Client;
}

function presignerFor(config: Config, store: S3ObjectStore): S3Client {
  if (!config.S3_PUBLIC_ENDPOINT || config.S3_PUBLIC_ENDPOINT === config.S3_ENDPOINT) return store.client;
  return new S3Client({
    region: config.S3_REGION,
    endpoint: config.S3_PUBLIC_ENDPOINT,
    forcePathStyle: true,
    credentials: config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY ? { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY } : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The CORS answers for the uploader's page on the app's origin (it sends Authorization and JSON). */
export function directCors(): RequestHandler {
  return (req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', `${BATCH_ID_HEADER}, Location, X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset`);
    if (req.method !== 'OPTIONS') return next();
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Accept, Content-Type');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}

export interface DirectHandlers {
  capabilities: RequestHandler;
  start: RequestHandler;
  listParts: RequestHandler;
  presignPart: RequestHandler;
  complete: RequestHandler;
  abort: RequestHandler;
}

export function directUploads(deps: ApiDeps): DirectHandlers {
  let target: S3Target | null | undefined;
  const s3 = (): S3Target | null => {
    if (target === undefined) target = deps.store instanceof S3ObjectStore ? { store: deps.store, presigner: presignerFor(deps.config, deps.store) } : null;
    return target;
  };
  const need = (): S3Target => s3() ?? (() => { throw unavailable(); })();
  const userOf = (req: Request): string => {
    const userId = req.caller?.userId;
    if (!userId) throw Errors.forbidden('uploads (use an uploader token: an upload belongs to a user)');
    return userId;
  };

  /** The caller's upload; another user's answers exactly like a missing one, so ids cannot be probed. */
  async function owned(req: Request, opts: { open?: boolean } = {}): Promise<Row> {
    need();
    const id = String(req.params.id ?? '');
    const userId = userOf(req);
    const [row]: Row[] = ID.test(id) ? await deps.ds.query(`SELECT * FROM direct_uploads WHERE id = $1 AND user_id = $2`, [id, userId]) : [];
    if (!row) throw Errors.notFound('This upload');
    if (row.status !== 'completed' && row.expires_at.getTime() <= Date.now()) {
      throw new AppError(410, 'upload_expired', `This upload expired at ${row.expires_at.toISOString()}; its parts are removed by the clean-up. Start a new upload.`);
    }
    if (opts.open && row.status === 'completed') {
      throw Errors.badRequest('upload_finished', `This upload is finished: it is the dump of batch ${row.batch_id}. Nothing more can be sent to it.`, { batchId: row.batch_id });
    }
    if (opts.open && row.status === 'completing') throw Errors.conflict('upload_completing', 'This upload is being completed by another request; ask for its parts list in a moment.');
    return row;
  }

  async function storedParts(t: S3Target, row: Row): Promise<Part[]> {
    const parts: Part[] = [];
    let marker: string | undefined;
    for (;;) {
      const res = await t.store.client.send(
        new ListPartsCommand({ Bucket: t.store.bucket, Key: row.object_key, UploadId: row.s3_upload_id, PartNumberMarker: marker }),
      );
      parts.push(...(res.Parts ?? []));
      if (!res.IsTruncated || !res.NextPartNumberMarker) break;
      marker = String(res.NextPartNumberMarker);
    }
    return parts;
  }

  /** Each stored part beside what was declared for it: its size and MD5 must be the expected ones. */
  function judge(row: Row, parts: Part[]): JudgedPart[] {
    const size = Number(row.size);
    const partSize = Number(row.part_size);
    return parts
      .filter((p) => p.PartNumber && p.PartNumber >= 1 && p.PartNumber <= row.part_count)
      .sort((a, b) => a.PartNumber! - b.PartNumber!)
      .map((p) => {
        const n = p.PartNumber!;
        const expectedSize = partLength(size, partSize, n);
        const declared = row.part_md5[String(n)];
        const etag = unquote(p.ETag);
        const sizeOk = p.Size === expectedSize;
        const digestOk = declared !== undefined && etag === md5Hex(declared);
        return { n, size: p.Size ?? 0, expectedSize, etag, sizeOk, digestOk, ok: sizeOk && digestOk };
      });
  }

  const describe = (row: Row) => ({
    uploadId: row.id,
    status: row.status,
    size: Number(row.size),
    partSize: Number(row.part_size),
    parts: row.part_count,
    expiresAt: row.expires_at.toISOString(),
    ...(row.batch_id ? { batchId: row.batch_id } : {}),
  });

  return {
    capabilities: async (req: Request, res: Response) => {
      userOf(req);
      if (!s3()) {
        res.json({ available: false, reason: 'Dumps are stored on the local filesystem (no S3_BUCKET): use the resumable /v1/uploads (tus).' });
        return;
      }
      res.json({
        available: true, minPartSize: MIN_PART_SIZE, maxPartSize: MAX_PART_SIZE, defaultPartSize: DEFAULT_PART_SIZE, maxParts: MAX_PARTS,
        maxSize: deps.config.UPLOAD_MAX_BYTES, partUrlTtlSeconds: deps.config.DIRECT_PART_URL_TTL_S, partChecksum: 'Content-MD5',
      });
    },

    start: async (req: Request, res: Response) => {
      const t = need();
      const userId = userOf(req);
      const body = parse(StartBody, req.body, 'invalid_direct_upload', 'A direct upload starts with {filename, contentType, sha256, size[, websiteId][, layout][, contentEncoding][, partSize]}.');
      const strings = { filename: body.filename, contentType: body.contentType, sha256: body.sha256, websiteId: body.websiteId, layout: body.layout, contentEncoding: body.contentEncoding };
      const meta = checkUploadMetadata(Object.fromEntries(Object.entries(strings).filter(([, v]) => v !== undefined)) as Record<string, string>, userId);
      if (body.size > deps.config.UPLOAD_MAX_BYTES) {
        throw new AppError(413, 'payload_too_large', `The dump is ${body.size} bytes; uploads may be at most ${deps.config.UPLOAD_MAX_BYTES} bytes (UPLOAD_MAX_BYTES).`, { limit: deps.config.UPLOAD_MAX_BYTES });
      }
      const partSize = body.partSize ?? Math.max(DEFAULT_PART_SIZE, Math.ceil(body.size / MAX_PARTS / MiB) * MiB);
      if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
        throw Errors.badRequest('invalid_part_size', `partSize must be between ${MIN_PART_SIZE} (5 MiB: S3 refuses smaller parts but the last) and ${MAX_PART_SIZE} bytes; got ${partSize}.`, { min: MIN_PART_SIZE, max: MAX_PART_SIZE });
      }
      const partCount = Math.ceil(body.size / partSize);
      if (partCount > MAX_PARTS) {
        throw Errors.badRequest('too_many_parts', `${body.size} bytes in parts of ${partSize} would take ${partCount} parts; S3 allows ${MAX_PARTS}. Choose a larger partSize.`, { parts: partCount, max: MAX_PARTS });
      }
      const id = randomBytes(16).toString('hex');
      const key = `${DIRECT_KEY_PREFIX}${id}`;
      const created = await t.store.client.send(new CreateMultipartUploadCommand({ Bucket: t.store.bucket, Key: key, ContentType: body.contentType }));
      if (!created.UploadId) throw new Error(`S3 returned no UploadId for ${key}`);
      try {
        const [row]: Row[] = await deps.ds.query(
          `INSERT INTO direct_uploads (id, user_id, object_key, s3_upload_id, filename, content_type, sha256, size, part_size, part_count, website_id, layout, content_encoding, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now() + make_interval(hours => $14)) RETURNING *`,
          [id, userId, key, created.UploadId, meta.filename, meta.contentType, meta.sha256, body.size, partSize, partCount, meta.websiteId ?? null, meta.layout ?? null, meta.contentEncoding ?? null, deps.config.UPLOAD_EXPIRY_HOURS],
        );
        deps.log.info({ reqId: req.id, userId, uploadId: id, bytes: body.size, parts: partCount }, 'direct upload started');
        res.status(201).setHeader('Location', `${DIRECT_PATH}/${id}`);
        res.json({ ...describe(row), partUrlTtlSeconds: deps.config.DIRECT_PART_URL_TTL_S });
      } catch (err) {
        await t.store.client.send(new AbortMultipartUploadCommand({ Bucket: t.store.bucket, Key: key, UploadId: created.UploadId })).catch(() => undefined);
        throw err;
      }
    },

    listParts: async (req: Request, res: Response) => {
      const t = need();
      const row = await owned(req);
      // Only an open upload has a multipart upload to list (a completing one may already be assembled).
      const parts = row.status === 'open' ? judge(row, await storedParts(t, row)) : [];
      res.setHeader('Cache-Control', 'no-store');
      res.json({
        ...describe(row),
        stored: parts.map((p) => ({ n: p.n, size: p.size, etag: p.etag, ok: p.ok, ...(p.ok ? {} : { problem: p.sizeOk ? 'digest_mismatch' : 'size_mismatch' }) })),
      });
    },

    presignPart: async (req: Request, res: Response) => {
      const t = need();
      const row = await owned(req, { open: true });
      const n = Number(req.params.n);
      if (!Number.isInteger(n) || n < 1 || n > row.part_count) {
        throw Errors.badRequest('part_out_of_range', `This upload has parts 1 to ${row.part_count}; there is no part ${req.params.n}.`, { parts: row.part_count });
      }
      const { md5 } = parse(PartBody, req.body, 'invalid_part_md5', 'A part URL is asked for with {md5}: the base64 MD5 of the part\'s bytes, which the URL signs as Content-MD5.');
      const length = partLength(Number(row.size), Number(row.part_size), n);
      const [, updated] = await deps.ds.query(
        `UPDATE direct_uploads SET part_md5 = part_md5 || jsonb_build_object($2::text, $3::text) WHERE id = $1 AND status = 'open'`, [row.id, String(n), md5],
      );
      if (!updated) throw Errors.conflict('upload_completing', 'This upload is being completed; no more part URLs are handed out.');
      const ttl = Math.max(1, Math.min(deps.config.DIRECT_PART_URL_TTL_S, Math.floor((row.expires_at.getTime() - Date.now()) / 1000)));
      const url = await getSignedUrl(
        t.presigner,
        new UploadPartCommand({ Bucket: t.store.bucket, Key: row.object_key, UploadId: row.s3_upload_id, PartNumber: n, ContentMD5: md5, ContentLength: length }),
        { expiresIn: ttl, signableHeaders: new Set(['content-md5', 'content-length']) },
      );
      res.setHeader('Cache-Control', 'no-store');
      res.json({ n, url, method: 'PUT', headers: { 'Content-MD5': md5 }, size: length, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() });
    },

    complete: async (req: Request, res: Response) => {
      const t = need();
      const row = await owned(req);
      const answer = async (batchId: string, status: number) => {
        const [batch] = await deps.ds.query(`SELECT status FROM migration_batches WHERE id = $1`, [batchId]);
        res.setHeader(BATCH_ID_HEADER, batchId);
        res.locals.batchId = batchId;
        res.status(status).json({ batchId, status: batch?.status ?? 'received', statusUrl: `/v1/batches/${batchId}` });
      };
      // Completing twice answers the first completion's batch.
      if (row.status === 'completed' && row.batch_id) return answer(row.batch_id, 200);
      const { parts: given } = parse(CompleteBody, req.body, 'invalid_complete', 'A completion carries {parts: [{n, etag}]}: every part with the ETag S3 answered for it.');

      // (TypeORM answers an UPDATE with [rows, count].)
      const [[claimed]]: [Row[], number] = await deps.ds.query(
        `UPDATE direct_uploads SET status = 'completing', claimed_at = now()
          WHERE id = $1 AND (status = 'open' OR (status = 'completing' AND claimed_at < now() - make_interval(secs => $2))) RETURNING *`,
        [row.id, STALE_CLAIM_MS / 1000],
      );
      if (!claimed) {
        const [now]: Row[] = await deps.ds.query(`SELECT * FROM direct_uploads WHERE id = $1`, [row.id]);
        if (now?.status === 'completed' && now.batch_id) return answer(now.batch_id, 200);
        throw Errors.conflict('upload_completing', 'This upload is being completed by another request; ask for its parts list in a moment.');
      }
      const reopen = () => deps.ds.query(`UPDATE direct_uploads SET status = 'open', claimed_at = NULL WHERE id = $1 AND status = 'completing'`, [row.id]);

      // Every part present, of its size, with the MD5 declared for it; refused parts keep the upload open.
      try {
        const listed = judge(claimed, await storedParts(t, claimed));
        checkParts(claimed, listed, given);
        await t.store.client.send(new CompleteMultipartUploadCommand({
          Bucket: t.store.bucket, Key: claimed.object_key, UploadId: claimed.s3_upload_id,
          MultipartUpload: { Parts: listed.map((p) => ({ PartNumber: p.n, ETag: `"${p.etag}"` })) },
        }));
      } catch (err) {
        await reopen();
        throw err;
      }

      // The object exists: the same finish as a tus upload (whole-dump SHA-256, validation, seal, batch).
      const upload = new Upload({
        id: claimed.object_key, size: Number(claimed.size), offset: Number(claimed.size),
        metadata: {
          filename: claimed.filename, contentType: claimed.content_type, sha256: claimed.sha256, userId: claimed.user_id,
          ...(claimed.website_id ? { websiteId: claimed.website_id } : {}),
          ...(claimed.layout ? { layout: claimed.layout } : {}),
          ...(claimed.content_encoding ? { contentEncoding: claimed.content_encoding } : {}),
        },
      });
      const discarder: FinishingStore = { discard: (key: string, objects: ApiDeps['store']) => objects.delete(key) };
      let headers: Record<string, string>;
      try {
        ({ headers } = await finishUpload(deps, discarder, upload, req.id));
      } catch (err) {
        // finishUpload removed the object (unless a batch reads it); the record goes too: nothing half-kept.
        await deps.ds.query(`DELETE FROM direct_uploads WHERE id = $1`, [claimed.id]);
        throw err;
      }
      const batchId = headers[BATCH_ID_HEADER];
      await deps.ds.query(`UPDATE direct_uploads SET status = 'completed', batch_id = $2 WHERE id = $1`, [claimed.id, batchId]);
      return answer(batchId, 201);
    },

    abort: async (req: Request, res: Response) => {
      const t = need();
      const row = await owned(req, { open: true });
      const [, deleted] = await deps.ds.query(`DELETE FROM direct_uploads WHERE id = $1 AND status = 'open'`, [row.id]);
      if (!deleted) throw Errors.conflict('upload_completing', 'This upload is being completed; it can no longer be aborted.');
      await abortMultipart(t.store, row.object_key, row.s3_upload_id);
      deps.log.info({ reqId: req.id, uploadId: row.id }, 'direct upload aborted');
      res.status(204).end();
    },
  };
}

/** Aborts an S3 multipart upload; one already gone (completed, aborted, or never there) is fine. */
export async function abortMultipart(store: S3ObjectStore, key: string, uploadId: string): Promise<void> {
  try {
    await store.client.send(new AbortMultipartUploadCommand({ Bucket: store.bucket, Key: key, UploadId: uploadId }));
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name !== 'NoSuchUpload' && e.$metadata?.httpStatusCode !== 404) throw err;
  }
}

function checkParts(row: Row, stored: JudgedPart[], given: { n: number; etag: string }[]): void {
  const byN = new Map(stored.map((p) => [p.n, p]));
  const missing: number[] = [];
  for (let n = 1; n <= row.part_count; n++) if (!byN.has(n)) missing.push(n);
  if (missing.length > 0) {
    throw Errors.badRequest('upload_parts_missing', `Parts ${missing.join(', ')} of ${row.part_count} are not stored yet; send them, then complete again.`, { missing });
  }
  const wrongSize = stored.filter((p) => !p.sizeOk).map((p) => ({ n: p.n, expected: p.expectedSize, actual: p.size }));
  if (wrongSize.length > 0) {
    throw Errors.badRequest(
      'upload_part_size_mismatch',
      `Parts ${wrongSize.map((p) => `${p.n} (${p.actual} bytes, expected ${p.expected})`).join(', ')} have the wrong size: every part but the last is exactly partSize (at least 5 MiB). Send them again.`,
      { parts: wrongSize },
    );
  }
  const corrupt = stored.filter((p) => !p.digestOk).map((p) => p.n);
  if (corrupt.length > 0) {
    throw Errors.badRequest(
      'upload_part_digest_mismatch',
      `Parts ${corrupt.join(', ')} as stored do not have the MD5 declared when their URLs were asked for: they were altered in transit. Send them again (ask for a new URL with their MD5); the upload stays open.`,
      { parts: corrupt },
    );
  }
  const givenByN = new Map(given.map((p) => [p.n, unquote(p.etag)]));
  const differ = stored.filter((p) => givenByN.get(p.n) !== p.etag).map((p) => p.n);
  const extra = given.filter((p) => !byN.has(p.n)).map((p) => p.n);
  if (differ.length > 0 || extra.length > 0) {
    throw Errors.badRequest(
      'upload_part_etag_mismatch',
      `The parts listed do not match the parts stored (${[...differ, ...extra].join(', ')}): list every part 1 to ${row.part_count} with the ETag S3 answered for it (GET …/parts shows them).`,
      { parts: [...differ, ...extra] },
    );
  }
}
