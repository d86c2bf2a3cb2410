/**
 * Upload-Metadata of a resumable upload (docs/http-api.md §2): `filename`, `contentType` (§1a or §1b), `sha256` of
 * the whole dump as uploaded, optional `websiteId`, optional `layout`, optional `contentEncoding` (`gzip`: the bytes
 * are the dump gzip-compressed, and `sha256` is that of the compressed bytes; docs/format.md §1g). Checked when the upload is created, so a bad one is refused before
 * a single byte is stored. The owner is added here, server-side: a client's own `userId` is never kept.
 */
import { z } from 'zod';
import type { Upload } from '@tus/utils';
import { Errors } from '../../core/errors';
import { isLayoutName, unknownLayout } from '../../jobs/layouts';
import { encodingOf, WebsiteIdSchema } from '../dumpIntake';

export interface UploadMeta {
  filename: string;
  contentType: string;
  /** Lower-case hex. */
  sha256: string;
  websiteId?: string;
  /** The layout the batch is migrated with (jobs/layouts.ts); the default when absent. */
  layout?: string;
  /** The uploaded bytes are gzip-compressed (absent: the dump as is). */
  contentEncoding?: 'gzip';
  /** The uploader's user id, set by the server from the bearer token. */
  userId: string;
}

const Schema = z.object({
  filename: z.string().min(1).max(255),
  contentType: z.string().refine((t) => encodingOf(t) !== null, 'must be application/json (§1a) or application/x-ndjson (§1b)'),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the 64 hex digits of the SHA-256 of the whole dump').transform((s) => s.toLowerCase()),
  websiteId: WebsiteIdSchema.optional(),
  layout: z.string().optional(),
  contentEncoding: z.literal('gzip', { error: 'must be gzip (or left out for an uncompressed dump)' }).optional(),
});

const EXPECTED =
  'Upload-Metadata must carry filename, contentType (application/json or application/x-ndjson), sha256 (hex SHA-256 of the whole dump as uploaded), and optionally websiteId, layout and contentEncoding (gzip), each base64-encoded as tus requires.';

/**
 * Validates what the client sent and returns the metadata to store (only known keys, plus the owner).
 * The header's syntax is @tus/server's to check: "The Upload-Metadata request and response header MUST
 * consist of one or more comma-separated key-value pairs. The key and value MUST be separated by a space.
 * [...] the value MUST be Base64 encoded." (tus 1.0.0, Creation); a malformed header is a 400 before this.
 */
export function checkUploadMetadata(raw: Upload['metadata'], userId: string): UploadMeta {
  // tus allows a key without a value (null); for us every key we read needs one.
  const given = Object.fromEntries(Object.entries(raw ?? {}).filter(([, v]) => v !== null && v !== ''));
  const missing = ['filename', 'contentType', 'sha256'].filter((k) => given[k] === undefined);
  if (missing.length > 0) throw Errors.badRequest('invalid_upload_metadata', `${EXPECTED} Missing: ${missing.join(', ')}.`, { missing });
  const parsed = Schema.safeParse(given);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.'), problem: i.message }));
    const text = issues.map((i) => `${i.field} ${i.problem}`).join('; ');
    throw Errors.badRequest('invalid_upload_metadata', `${EXPECTED} Problems: ${text}.`, { issues });
  }
  const m = parsed.data;
  if (m.layout !== undefined && !isLayoutName(m.layout)) throw unknownLayout(m.layout);
  return {
    filename: m.filename, contentType: m.contentType, sha256: m.sha256, ...(m.websiteId ? { websiteId: m.websiteId } : {}),
    ...(m.layout ? { layout: m.layout } : {}), ...(m.contentEncoding ? { contentEncoding: m.contentEncoding } : {}), userId,
  };
}

/** Reads back what checkUploadMetadata stored (tus hands hooks the metadata as a plain string map). */
export function storedMeta(raw: Upload['metadata']): UploadMeta {
  const m = raw ?? {};
  if (!m.userId || !m.sha256 || !m.contentType) throw new Error('upload has no server-side metadata');
  return {
    filename: m.filename ?? '', contentType: m.contentType, sha256: m.sha256, websiteId: m.websiteId ?? undefined, layout: m.layout ?? undefined,
    ...(m.contentEncoding === 'gzip' ? { contentEncoding: 'gzip' as const } : {}), userId: m.userId,
  };
}
