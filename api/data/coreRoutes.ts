/**
 * The other /v1 routes (dumps, batches, assets, admin, live events, tus uploads, this document), described
 * like the data routes so that one OpenAPI document covers every /v1 route. They have no handler: routes.ts
 * and the tus adapter (api/uploads) serve them; these descriptions only feed openapi.ts. Shapes are read
 * off the handlers (coreSchemas.ts); test/api/openapi.test.ts checks every served /v1 route is here.
 */
import { z } from 'zod';
import { BATCH_ID_HEADER } from '../context';
import {
  AuditList, AuditQuery, BatchId, BatchList, BatchReport, BatchView, DumpAccepted, DumpDocument, DumpQuery, EventStream, ListBatchesQuery,
  MintedToken, MintTokenBody, TokenId, TokenInfo, TokenList, TokenListQuery, NdjsonDump, RejectList, RejectsQuery, ReportQuery, RetryAccepted, RollbackAccepted, RollbackBody, Verified,
} from './coreSchemas';
import { route, type ResponseSpec, type RouteSpec } from './route';
import { ErrorBody, JsonObject, errors } from './schemas';

/** An error answer particular to one route (schemas.ts' `errors` has the common ones). */
const err = (status: number, description: string): Record<number, ResponseSpec> => ({ [status]: { description, schema: ErrorBody } });
const noQueue = err(503, 'The job queue (Redis) is unreachable; nothing was changed');
const BATCH_ID = 'c0ffee00-1234-4abc-8def-0123456789ab';
const STATUS_URL = `/v1/batches/${BATCH_ID}`;

const batchRoutes = [
  route({
    method: 'post', path: '/v1/dumps', operationId: 'postDump', tag: 'Dumps', auth: 'user',
    summary: 'Upload a whole dump and start its migration',
    description:
      'The body is the dump as the JSON document (§1a) or NDJSON (§1b, also `application/ndjson`). It is validated as a whole before anything is kept: ' +
      'a malformed dump gets 400 saying what is wrong and leaves no batch. The same dump posted again by the same user (with the same layout) answers the first batch (200). ' +
      'Larger dumps go through the resumable /v1/uploads.',
    query: DumpQuery,
    body: DumpDocument,
    otherBodies: { 'application/x-ndjson': NdjsonDump },
    requestHeaders: { 'Idempotency-Key': 'Optional, 1–200 printable ASCII characters: a retry with the same key answers the first batch' },
    responses: {
      202: { description: 'Accepted: the batch is queued', schema: DumpAccepted },
      200: { description: 'This user posted the same dump before: its batch', schema: DumpAccepted },
      ...err(400, 'Not a valid dump (the error names the problem and where), another media type, a bad websiteId or Idempotency-Key, an unknown layout (unknown_layout)'),
      ...errors(401, 403),
      ...err(413, 'Larger than DUMP_BODY_LIMIT: upload it through /v1/uploads'),
      ...noQueue,
    },
    examples: [{
      summary: 'A small dump (JSON document)',
      request: {
        format: 'browser-storage-dump', version: 1,
        source: { app: 'catalyst-studio', origin: 'http://localhost:3000', capturedAt: '2026-11-28T10:00:00.000Z' },
        localStorage: [{ key: 'theme', value: 'dark' }],
        sessionStorage: [],
        indexedDB: [{ name: 'catalyst_global', version: 1, stores: [{ name: 'websites', keyPath: 'id', autoIncrement: false, records: [
          { key: 'website_1', value: { id: 'website_1', name: 'Coffee Shop', createdAt: { $t: 'Date', v: '2025-08-12T07:00:34.567Z' } } },
        ] }] }],
      },
      response: { batchId: BATCH_ID, status: 'queued', statusUrl: STATUS_URL, duplicate: false },
    }],
  }),
  route({
    method: 'get', path: '/v1/batches/:id', operationId: 'getBatch', tag: 'Batches', auth: 'uploader', params: BatchId,
    summary: 'Status of a batch: phases with progress, counts, report summary',
    description: 'An uploader sees its own batches only (others answer 404).',
    responses: { 200: { description: 'The batch', schema: BatchView }, ...errors(401, 403, 404) },
  }),
  route({
    method: 'get', path: '/v1/batches/:id/report', operationId: 'getBatchReport', tag: 'Batches', auth: 'uploader', params: BatchId, query: ReportQuery,
    summary: 'The accounting report: every entry migrated, preserved or rejected (paged)',
    responses: { 200: { description: 'The report; follow `next` for more entries', schema: BatchReport }, ...errors(400, 401, 403, 404) },
  }),
  route({
    method: 'get', path: '/v1/assets/:asset', operationId: 'getAsset', tag: 'Assets', auth: 'none',
    params: z.strictObject({
      asset: z.string().regex(/^[0-9a-f]{64}(\.[A-Za-z0-9_-]{22})?$/).describe('`<sha256>.<mac>`: the hex SHA-256 of the bytes and its server-keyed MAC (as written into rows)'),
    }),
    summary: 'A binary moved out of a dump (data: URL, Blob), at the URL written into its row',
    description: 'Public like a CDN URL (an `<img>` sends no token), and unguessable: the MAC is keyed by a server secret, so knowing the bytes (and so their digest) is not enough. URLs of the older hash-only form serve only the assets stored before signed URLs. Assets leave with the batch that stored them when it is rolled back and nothing else uses them.',
    responses: {
      200: {
        description: 'The bytes', contentType: 'application/octet-stream', schema: z.string().meta({ format: 'binary' }),
        headers: { 'Cache-Control': 'public, max-age=31536000, immutable' },
      },
      ...err(404, 'No such asset, or a MAC that does not match'),
    },
  }),
];

const batchAction = (action: 'retry' | 'rollback' | 'verify') => `/v1/admin/batches/:id/${action}`;

const adminRoutes = [
  route({
    method: 'get', path: '/v1/admin/batches', operationId: 'listBatches', tag: 'Admin', auth: 'adminRead', query: ListBatchesQuery,
    summary: 'List and filter batches (newest first)',
    responses: { 200: { description: 'A page of batches', schema: BatchList }, ...errors(400, 401, 403) },
  }),
  route({
    method: 'get', path: '/v1/admin/tokens', operationId: 'listTokens', tag: 'Admin', auth: 'adminRead', query: TokenListQuery,
    summary: 'List tokens (newest first; never their secret)',
    responses: { 200: { description: 'The tokens', schema: TokenList }, ...errors(400, 401, 403) },
  }),
  route({
    method: 'delete', path: '/v1/admin/tokens/:id', operationId: 'revokeToken', tag: 'Admin', auth: 'admin', params: TokenId,
    summary: 'Revoke a token: it answers 401 from now on, and its dashboard sessions end',
    description: 'Idempotent: revoking a revoked token answers it with its first revocation time.',
    responses: { 200: { description: 'The revoked token', schema: TokenInfo }, ...errors(401, 403, 404) },
  }),
  route({
    method: 'post', path: '/v1/admin/tokens', operationId: 'mintToken', tag: 'Admin', auth: 'admin', body: MintTokenBody,
    summary: 'Mint an uploader (or operator) token for a user',
    responses: { 201: { description: 'The token, shown this once', schema: MintedToken }, ...errors(400, 401, 403, 415) },
    examples: [{
      summary: 'An uploader token',
      request: { userId: 'user-42', label: 'migration of the studio app' },
      response: { token: 'bsm_3q2-7Yw0M5c1pQbZr8Jt4Nf6Ls9Xv2Kd0Hg5Ae1Uo7I', tokenId: '6b1f3a2e-9c4d-4e8f-a1b2-c3d4e5f60718', userId: 'user-42', role: 'uploader', createdAt: '2026-11-28T10:00:00.000Z' },
    }],
  }),
  route({
    method: 'post', path: batchAction('retry'), operationId: 'retryBatch', tag: 'Admin', auth: 'admin', params: BatchId, body: RollbackBody, bodyOptional: true,
    summary: 'Retry what failed, continuing the batch where it stopped',
    description: 'Refused (409 `later_batches`) when later batches of the user were applied since, whose rows it would overwrite, unless `force`.',
    responses: { 202: { description: 'Queued again', schema: RetryAccepted }, ...errors(400, 401, 403, 404), ...err(409, 'The batch is not in a state that can be retried, or later batches were applied since'), ...noQueue },
    examples: [{ summary: 'A failed batch retried', response: { batchId: BATCH_ID, status: 'queued', run: 1, retried: ['contentItems', 'preserve', 'verify'], statusUrl: STATUS_URL } }],
  }),
  route({
    method: 'post', path: batchAction('rollback'), operationId: 'rollbackBatch', tag: 'Admin', auth: 'admin', params: BatchId, body: RollbackBody, bodyOptional: true,
    summary: 'Undo a batch: the database returns to its state before it',
    description: 'Refused (409 `rollback_conflict`) when later batches changed its rows, unless `force` rolls them back too, newest first; refused (409 `changed_through_api`) when its rows were changed through the data API since, unless `force` (the audit log then keeps what was overwritten).',
    responses: { 202: { description: 'The rollback is queued', schema: RollbackAccepted }, ...errors(400, 401, 403, 404), ...err(409, 'Running, already rolled back, another batch of the user busy, or later batches conflict'), ...noQueue },
    examples: [{ summary: 'Roll back one batch', request: {}, response: { batchId: BATCH_ID, status: 'rolling_back', batches: [BATCH_ID], jobId: 'rollback.c0ffee00-1234-4abc-8def-0123456789ab.17', statusUrl: STATUS_URL } }],
  }),
  route({
    method: 'post', path: batchAction('verify'), operationId: 'verifyBatch', tag: 'Admin', auth: 'admin', params: BatchId,
    summary: 'Verify a finished batch again (completed ⇄ needs_attention)',
    responses: { 200: { description: 'The new verification', schema: Verified }, ...errors(401, 403, 404), ...err(409, 'Only completed batches or batches needing attention can be verified') },
  }),
  route({
    method: 'get', path: '/v1/admin/audit', operationId: 'listAudit', tag: 'Admin', auth: 'adminRead', query: AuditQuery,
    summary: 'The audit log (tokens minted, retries, rollbacks, verifications), newest first',
    responses: { 200: { description: 'A page of entries', schema: AuditList }, ...errors(400, 401, 403) },
  }),
  route({
    method: 'get', path: '/v1/admin/batches/:id/rejects', operationId: 'listRejects', tag: 'Admin', auth: 'adminRead', params: BatchId, query: RejectsQuery,
    summary: 'Rejected elements of a batch, with the entry each belongs to (paged)',
    responses: { 200: { description: 'A page of rejects', schema: RejectList }, ...errors(400, 401, 403, 404) },
  }),
  route({
    method: 'get', path: '/v1/admin/events/batches', operationId: 'streamBatchList', tag: 'Admin', auth: 'adminRead', query: ListBatchesQuery,
    summary: 'Live batch list (Server-Sent Events) for the dashboard',
    responses: {
      200: { description: 'The event stream', contentType: 'text/event-stream', schema: EventStream('`event: batches` with the JSON of GET /v1/admin/batches') },
      ...errors(400, 401, 403),
    },
  }),
  route({
    method: 'get', path: '/v1/admin/events/batches/:id', operationId: 'streamBatch', tag: 'Admin', auth: 'adminRead', params: BatchId,
    summary: 'Live status of one batch (Server-Sent Events) for the dashboard',
    responses: {
      200: { description: 'The event stream', contentType: 'text/event-stream', schema: EventStream('`event: batch` with the JSON of GET /v1/batches/:id plus `jobs` (Bull Board links per phase)') },
      ...errors(401, 403, 404),
    },
  }),
];

// tus 1.0.0 (creation, creation-with-upload, termination, expiration; checksum: api/uploads/checksum.ts), served by @tus/server in api/uploads.
const tag = 'Uploads (tus 1.0.0)';
const TUS = { 'Tus-Resumable': 'Required: 1.0.0' };
const UploadParams = z.strictObject({ id: z.string().min(1).describe('The upload id: the last segment of the Location answered on creation') });
const Chunk = z.string().meta({ format: 'binary' }).describe('The next bytes of the dump, from Upload-Offset');
const tusErrors = (...codes: [number, string][]) => Object.assign({}, errors(401, 403), ...codes.map(([s, d]) => err(s, d)), err(412, 'Tus-Resumable is missing or not 1.0.0'));

const uploadRoutes = [
  route({
    method: 'options', path: '/v1/uploads', operationId: 'uploadOptions', tag, auth: 'none',
    summary: 'What the upload server supports (tus discovery)',
    responses: { 204: { description: 'Supported', headers: { 'Tus-Version': '1.0.0', 'Tus-Extension': 'The extensions, comma-separated', 'Tus-Max-Size': 'Largest upload in bytes', 'Tus-Checksum-Algorithm': 'sha256,sha1 (Upload-Checksum)' } } },
  }),
  route({
    method: 'post', path: '/v1/uploads', operationId: 'createUpload', tag, auth: 'user',
    summary: 'Create a resumable upload of one dump',
    description:
      'Upload-Metadata (base64 values, as tus requires) carries `filename`, `contentType` (application/json or application/x-ndjson), `sha256` (hex digest of the whole upload as sent) ' +
      'and optionally `websiteId`, `layout` (catalyst, the default, or generic; another answers 400 unknown_layout) and `contentEncoding` (`gzip`: the bytes are the dump gzip-compressed, `sha256` covers the compressed bytes). Bytes may come with the creation (creation-with-upload).',
    requestHeaders: { ...TUS, 'Upload-Length': 'Required: size of the whole dump in bytes', 'Upload-Metadata': 'Required: filename, contentType, sha256[, websiteId][, layout][, contentEncoding]' },
    otherBodies: { 'application/offset+octet-stream': Chunk }, bodyOptional: true,
    responses: {
      201: { description: 'Created', headers: { Location: 'URL of the upload', 'Upload-Offset': 'Bytes stored so far', 'Upload-Expires': 'When an unfinished upload is removed', 'Tus-Resumable': '1.0.0' } },
      ...tusErrors([400, 'Missing or invalid Upload-Metadata or Upload-Length'], [413, 'Larger than Tus-Max-Size']),
    },
  }),
  route({
    method: 'head', path: '/v1/uploads/:id', operationId: 'getUploadOffset', tag, auth: 'user', params: UploadParams, requestHeaders: TUS,
    summary: 'How much of the upload the server has (to resume from there)',
    responses: {
      200: { description: 'The upload (no body)', headers: { 'Upload-Offset': 'Bytes stored', 'Upload-Length': 'Declared size', 'Upload-Metadata': 'As stored', 'Cache-Control': 'no-store' } },
      ...tusErrors([404, 'No such upload (another user\'s uploads answer 404 too)'], [410, 'Expired']),
    },
  }),
  route({
    method: 'patch', path: '/v1/uploads/:id', operationId: 'appendUpload', tag, auth: 'user', params: UploadParams,
    summary: 'Send the next chunk; the last one verifies the digest and creates the batch',
    requestHeaders: { ...TUS, 'Upload-Offset': 'Required: the offset HEAD answered', 'Upload-Checksum': 'Optional: "sha256 <base64>" of this chunk (tus checksum extension)' },
    otherBodies: { 'application/offset+octet-stream': Chunk },
    responses: {
      204: { description: 'Stored', headers: { 'Upload-Offset': 'Bytes stored now', 'Upload-Expires': 'When an unfinished upload is removed', [BATCH_ID_HEADER]: 'On the final PATCH: the batch created (or, for a dump sent before, the first batch)' } },
      ...tusErrors(
        [400, 'The finished dump is invalid or its SHA-256 differs (the upload is discarded), or a tus header is wrong'], [404, 'No such upload'],
        [409, 'Upload-Offset conflict: ask HEAD and resume'], [410, 'Expired'],
        [413, 'Past the declared Upload-Length; or, on the final PATCH of a gzip upload, it inflates past INFLATED_DUMP_MAX_BYTES (dump_too_large_inflated: the upload is discarded)'],
        [460, 'Checksum Mismatch: the chunk does not match Upload-Checksum; it was not stored, the offset is unchanged: send it again'],
      ),
      ...noQueue,
    },
  }),
  route({
    method: 'delete', path: '/v1/uploads/:id', operationId: 'terminateUpload', tag, auth: 'user', params: UploadParams, requestHeaders: TUS,
    summary: 'Abandon an unfinished upload (tus termination)',
    responses: { 204: { description: 'Removed' }, ...tusErrors([400, 'A finished upload is a batch\'s dump and cannot be terminated'], [404, 'No such upload'], [410, 'Expired']) },
  }),
];

// Direct-to-S3 multipart uploads (api/uploads/direct.ts), offered with the S3 driver only.
const dtag = 'Uploads (direct to S3)';
const DirectId = z.strictObject({ id: z.string().regex(/^[0-9a-f]{32}$/).describe('The uploadId answered at the start') });
const DirectPart = DirectId.extend({ n: z.string().describe('Part number, 1 to `parts`') });
const DirectUploadView = z.object({
  uploadId: z.string(), status: z.enum(['open', 'completing', 'completed']), size: z.int(), partSize: z.int().describe('Every part but the last has exactly this many bytes'),
  parts: z.int().describe('How many parts'), expiresAt: z.string().describe('An unfinished upload is aborted by the clean-up after this'), batchId: z.uuid().optional(),
});
const DirectBatch = z.object({ batchId: z.uuid(), status: z.string(), statusUrl: z.string() });
const notOffered = err(404, '`direct_upload_unavailable` (filesystem driver), or no such upload of yours (`not_found`)');
const directRoutes = [
  route({
    method: 'get', path: '/v1/uploads/direct', operationId: 'directUploadCapabilities', tag: dtag, auth: 'user',
    summary: 'Whether direct-to-S3 uploads are offered here, and their bounds',
    responses: {
      200: {
        description: '`available: false` on the filesystem driver (use /v1/uploads)',
        schema: z.object({
          available: z.boolean(), reason: z.string().optional(), minPartSize: z.int().optional(), maxPartSize: z.int().optional(), defaultPartSize: z.int().optional(),
          maxParts: z.int().optional(), maxSize: z.int().optional(), partUrlTtlSeconds: z.int().optional(), partChecksum: z.literal('Content-MD5').optional(),
        }),
      },
      ...errors(401, 403),
    },
  }),
  route({
    method: 'post', path: '/v1/uploads/direct', operationId: 'startDirectUpload', tag: dtag, auth: 'user',
    summary: 'Start a multipart upload of one dump straight to S3',
    body: z.strictObject({
      filename: z.string(), contentType: z.enum(['application/json', 'application/x-ndjson']), sha256: z.string().describe('Hex SHA-256 of the whole dump, verified at completion'),
      size: z.int().min(1), websiteId: z.string().optional(), partSize: z.int().min(5 * 1024 * 1024).optional().describe('Default 8 MiB (more for dumps over 80 GB)'),
    }),
    responses: {
      201: { description: 'Started', schema: DirectUploadView.extend({ partUrlTtlSeconds: z.int() }), headers: { Location: 'The upload' } },
      ...errors(400, 401, 403), ...err(413, 'Larger than UPLOAD_MAX_BYTES'), ...notOffered,
    },
  }),
  route({
    method: 'get', path: '/v1/uploads/direct/:id/parts', operationId: 'listDirectUploadParts', tag: dtag, auth: 'user', params: DirectId,
    summary: 'The parts S3 holds, each checked against its declared size and MD5 (to resume)',
    responses: {
      200: {
        description: 'The upload and its stored parts; a part with `ok: false` must be sent again',
        schema: DirectUploadView.extend({ stored: z.array(z.object({ n: z.int(), size: z.int(), etag: z.string(), ok: z.boolean(), problem: z.enum(['digest_mismatch', 'size_mismatch']).optional() })) }),
      },
      ...errors(401, 403), ...notOffered, ...err(410, 'Expired'),
    },
  }),
  route({
    method: 'post', path: '/v1/uploads/direct/:id/parts/:n', operationId: 'presignDirectUploadPart', tag: dtag, auth: 'user', params: DirectPart,
    summary: "A short-lived presigned PUT URL for one part, signing the part's Content-MD5 and length",
    body: z.strictObject({ md5: z.string().describe("Base64 MD5 of the part's bytes; send it as Content-MD5 with the PUT") }),
    responses: {
      200: {
        description: 'PUT the part\'s bytes to `url` with `headers`; S3 answers the part\'s ETag',
        schema: z.object({ n: z.int(), url: z.string(), method: z.literal('PUT'), headers: z.object({ 'Content-MD5': z.string() }), size: z.int(), expiresAt: z.string() }),
      },
      ...errors(400, 401, 403), ...notOffered, ...err(409, 'Being completed'), ...err(410, 'Expired'),
    },
  }),
  route({
    method: 'post', path: '/v1/uploads/direct/:id/complete', operationId: 'completeDirectUpload', tag: dtag, auth: 'user', params: DirectId,
    summary: 'Assemble the parts, verify the whole SHA-256 and the dump, create the batch',
    description:
      'Every part must be stored with its declared size and MD5 (else 400 `upload_parts_missing`, `upload_part_size_mismatch` or `upload_part_digest_mismatch` naming the parts; the upload stays open). ' +
      'A wrong whole digest (400 `upload_digest_mismatch`) or an invalid dump removes the object and the upload: no batch. Completing again answers the first batch (200).',
    body: z.strictObject({ parts: z.array(z.strictObject({ n: z.int(), etag: z.string() })) }),
    responses: {
      201: { description: 'The batch was created and queued', schema: DirectBatch, headers: { [BATCH_ID_HEADER]: 'The batch' } },
      200: { description: 'Completed before: the first batch', schema: DirectBatch, headers: { [BATCH_ID_HEADER]: 'The batch' } },
      ...errors(400, 401, 403), ...notOffered, ...err(409, 'Another completion is running'), ...err(410, 'Expired'), ...noQueue,
    },
  }),
  route({
    method: 'delete', path: '/v1/uploads/direct/:id', operationId: 'abortDirectUpload', tag: dtag, auth: 'user', params: DirectId,
    summary: 'Abandon an unfinished direct upload (its S3 multipart upload is aborted)',
    responses: { 204: { description: 'Aborted' }, ...errors(401, 403), ...err(400, '`upload_finished`: it is a batch\'s dump'), ...notOffered, ...err(409, 'Being completed'), ...err(410, 'Expired') },
  }),
];

export const CORE_ROUTES: RouteSpec[] = [
  ...batchRoutes,
  ...adminRoutes,
  ...uploadRoutes,
  ...directRoutes,
  route({
    method: 'get', path: '/v1/openapi.json', operationId: 'getOpenApi', tag: 'Documentation', auth: 'none',
    summary: 'This document (OpenAPI 3.1); the interactive reference is at /docs',
    responses: { 200: { description: 'The OpenAPI document', schema: JsonObject } },
  }),
];
