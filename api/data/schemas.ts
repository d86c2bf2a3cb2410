/** zod schemas shared by the data-API routes (and so by the OpenAPI document). */
import { z } from 'zod';

/** A date as the browser wrote it: ISO 8601 with an offset (`toISOString()` gives `…Z`). */
export const IsoDate = z.iso.datetime({ offset: true }).describe('ISO 8601 date-time, e.g. 2025-08-12T07:00:34.567Z');

/** The id the browser used. Postgres text cannot hold U+0000, so neither may an id. */
export const SourceId = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point (Postgres text holds no U+0000)
  .regex(/^[^\u0000]+$/, 'must not contain U+0000')
  .describe("The id the browser used (kept as `sourceId`); omit it and the server makes one");

/** A reference: the server id (UUID) or the browser's id. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point (Postgres text holds no U+0000)
export const Ref = z.string().min(1).max(200).regex(/^[^\u0000]+$/, 'must not contain U+0000').describe('Server id (UUID) or the id the browser used');

export const JsonObject = z.record(z.string(), z.unknown());

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe('Machine-readable code, e.g. invalid_body, not_found, precondition_failed'),
    message: z.string().describe('What is wrong and what to do'),
    details: z.unknown().optional(),
  }),
});

export const WebsiteParams = z.strictObject({ websiteId: Ref });
export const WebsiteItemParams = z.strictObject({ websiteId: Ref, id: Ref });
export const IdParams = z.strictObject({ id: Ref });

export const Limit = z.coerce.number().int().min(1).max(200).default(50).describe('Page size (1–200, default 50)');
export const Cursor = z.string().min(1).max(500).optional().describe('nextCursor of the previous page');

export const IF_NONE_MATCH = { 'If-None-Match': 'Optional: an ETag you hold; 304 if unchanged' };
export const IF_MATCH = { 'If-Match': 'Optional. The ETag you last read: the write happens only if the resource still has it (else 412).' };
export const ETAG_HEADER = { ETag: 'Entity tag of the resource; send it back in If-Match / If-None-Match' };

/** Common error responses, so every route documents them the same way. */
export const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [c, {
      description: ({
        304: 'Not modified (If-None-Match matched)',
        400: 'Invalid request: the error names the path and the problem',
        401: 'Missing or invalid bearer token',
        403: 'The token may not do this',
        404: 'No such resource for this user (another user\'s ids answer 404 too)',
        409: 'Conflicts with existing data',
        412: 'If-Match did not match: the resource changed since it was read',
        415: 'The body is not JSON',
      } as Record<number, string>)[c] ?? 'Error',
      schema: c === 304 ? undefined : ErrorBody,
    }]),
  );
