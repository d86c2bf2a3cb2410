/**
 * The cutover routes (docs/cutover.md), described like the data routes: the user's cutover state, a
 * batch's watermark (its staged entries' digests), and deltas (served by postDelta.ts, described here).
 */
import { z } from 'zod';
import { AppError, Errors } from '../../core/errors';
import { cutoverState } from '../../jobs/cutover';
import { DEFAULT_LAYOUT, layoutFor, LAYOUT_NAMES } from '../../jobs/layouts';
import { route, type DataRequest } from '../data/route';
import { ErrorBody, errors } from '../data/schemas';

const Mode = z.enum(['browser', 'migrating', 'ready', 'switching', 'api']);
const CutoverState = z.object({
  mode: Mode.describe('browser: use browser storage; migrating: snapshot batch running; ready: send the delta; switching: delta running; api: use the data API'),
  reason: z.string().nullable(),
  snapshotBatchId: z.uuid().nullable(),
  latestBatchId: z.uuid().nullable().describe('The chain\'s latest completed batch: the base of the next delta'),
  latestStatus: z.string().nullable(),
  deltaBatchIds: z.array(z.uuid()),
  switchedAt: z.string().nullable(),
  globalWebsite: z.object({ id: z.uuid(), sourceId: z.string() }).nullable().describe('The website the data API serves the app\'s global data under'),
});

const CutoverQuery = z.strictObject({
  layout: z.string().optional().describe(`Whose batches decide (${LAYOUT_NAMES.join(', ')}); default ${DEFAULT_LAYOUT}. Another name answers 400 unknown_layout.`),
});
const BatchParams = z.strictObject({ id: z.uuid() });
const EntriesQuery = z.strictObject({
  after: z.coerce.number().int().min(-1).default(-1).describe('The last seq of the previous page'),
  limit: z.coerce.number().int().min(1).max(10000).default(5000),
});
const Entry = z.object({
  seq: z.number().int(),
  area: z.enum(['localStorage', 'sessionStorage', 'indexedDB']),
  db: z.string().nullable(),
  store: z.string().nullable(),
  key: z.unknown().describe('The key as in the dump (§1c-encoded for IndexedDB)'),
  sha256: z.string().nullable().describe('SHA-256 (hex) of the value\'s JSON text as the NDJSON line carries it; null for sealed (secret-bearing) entries'),
});
const EntriesPage = z.object({ batchId: z.uuid(), entries: z.array(Entry), next: z.string().nullable() });
const DeltaAccepted = z.object({ batchId: z.uuid(), status: z.string(), statusUrl: z.string(), baseBatchId: z.uuid(), duplicate: z.boolean() });

const tag = 'Cutover';
export const CUTOVER_ROUTES = [
  route({
    method: 'get', path: '/v1/cutover', operationId: 'getCutover', tag, auth: 'user',
    summary: 'Where the caller\'s app should read and write: browser storage or the data API',
    description: 'Computed from the user\'s batches of one layout (docs/cutover.md): the latest snapshot and the deltas of its chain.',
    query: CutoverQuery,
    responses: { 200: { description: 'The state', schema: CutoverState }, ...errors(400, 401, 403) },
    handler: async (req: DataRequest<Record<string, string>, z.infer<typeof CutoverQuery>>) =>
      ({ body: await cutoverState(req.deps.ds, req.caller.userId, layoutFor(req.query.layout ?? DEFAULT_LAYOUT).name) }),
  }),
  route({
    method: 'get', path: '/v1/batches/:id/entries', operationId: 'getBatchEntries', tag, auth: 'user', params: BatchParams, query: EntriesQuery,
    summary: 'The watermark of a batch: each staged entry\'s reference and value digest',
    description: 'A client compares its storage with these to build a delta. Pages by seq.',
    responses: { 200: { description: 'One page of entries', schema: EntriesPage }, ...errors(400, 401, 403, 404), 410: { description: 'The batch is past retention: its staged entries were removed', schema: ErrorBody } },
    handler: async (req: DataRequest<z.infer<typeof BatchParams>, z.infer<typeof EntriesQuery>>) => {
      const { id } = req.params;
      const [b] = await req.deps.ds.query(`SELECT id, notes ? 'dumpDeletedAt' AS removed FROM migration_batches WHERE id = $1 AND user_id = $2`, [id, req.caller.userId]);
      if (!b) throw Errors.notFound(`Batch ${id}`);
      if (b.removed) throw new AppError(410, 'entries_removed', `Batch ${id} is past retention: its staged entries were removed. Take a new snapshot.`);
      const rows: { seq: number; area: string; db: string | null; store: string | null; entry_key: string; sha256: string | null }[] = await req.deps.ds.query(
        `SELECT seq, area, db_name AS db, store_name AS store, entry_key,
                CASE WHEN sealed THEN NULL ELSE encode(sha256(convert_to(value, 'UTF8')), 'hex') END AS sha256
         FROM dump_entries WHERE batch_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [id, req.query.after, req.query.limit],
      );
      const entries = rows.map(({ entry_key, ...r }) => ({ ...r, key: JSON.parse(entry_key) }));
      const next = rows.length === req.query.limit ? `/v1/batches/${id}/entries?after=${rows[rows.length - 1].seq}&limit=${req.query.limit}` : null;
      return { body: { batchId: id, entries, next } };
    },
  }),
  route({
    method: 'post', path: '/v1/batches/:id/delta', operationId: 'postDelta', tag, auth: 'user', params: BatchParams,
    summary: 'Send what changed since batch :id; it is applied as a follow-up batch',
    description: 'NDJSON (§1b) whose entries replace entries of the base and whose `{"op":"delete",…}` lines remove them (docs/cutover.md). The base must be the chain\'s latest completed batch.',
    otherBodies: { 'application/x-ndjson': z.string().describe('Header line, entry and removal lines, trailer {"end":true,"entries":N}') },
    responses: {
      202: { description: 'Accepted: the delta batch is queued', schema: DeltaAccepted },
      200: { description: 'The same delta was sent before: its batch', schema: DeltaAccepted },
      ...errors(400, 401, 403, 404),
      409: { description: 'The base is not the chain\'s latest completed batch (stale_base, delta_in_progress, base_not_completed), or rows of the chain were changed through the data API since they were migrated (changed_through_api: the delta would overwrite them)', schema: ErrorBody },
      410: { description: 'The base is past retention (base_unavailable): take a new snapshot', schema: ErrorBody },
      415: { description: 'Not application/x-ndjson', schema: ErrorBody },
    },
  }),
];
