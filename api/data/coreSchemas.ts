/**
 * zod schemas of the core routes' requests and answers (coreRoutes.ts), read off their handlers. These
 * routes validate by hand, so the schemas only document: they are loose (extra keys allowed, free JSON as
 * `unknown`) wherever the handler passes database JSON through as it is.
 */
import { z } from 'zod';
import { BATCH_STATUSES } from '../../entities';
import { DocDatabaseSchema, DocKvItemSchema, DocRecordSchema, DocStoreSchema, HeaderSchema } from '../../format/schema';
import { PHASES } from '../../jobs/names';
import { JsonObject } from './schemas';

const Iso = z.string().describe('ISO 8601 date-time');
const Int = z.number().int();
/** Postgres bigint columns reach JSON as strings (node-pg keeps their full precision). */
const BigintText = z.union([z.string(), Int]);

export const BatchStatus = z.enum(BATCH_STATUSES);
export const BatchId = z.strictObject({ id: z.uuid().describe('Batch id') });

// ---- POST /v1/dumps ----

/** §1a, the JSON document (the reader streams it; these are the pieces it checks). */
export const DumpDocument = HeaderSchema.extend({
  localStorage: z.array(DocKvItemSchema).optional().describe('Every entry; value is the raw stored string'),
  sessionStorage: z.array(DocKvItemSchema).optional(),
  indexedDB: z.array(DocDatabaseSchema.extend({ stores: z.array(DocStoreSchema.extend({ records: z.array(DocRecordSchema) })) })).optional(),
}).describe('browser-storage-dump version 1, JSON document (docs/format.md §1a); keys and values encoded as §1c');

export const NdjsonDump = z.string().describe(
  'browser-storage-dump version 1 as NDJSON (docs/format.md §1b): the header line {"format","version","source"}, one entry per line ' +
    '({"area":"localStorage"|"sessionStorage","key","value"} or {"area":"indexedDB","db","dbVersion","store","keyPath","key","value"}), ' +
    'then the trailer {"end":true,"entries":N}. A stream without the trailer, or with another count, is refused as a whole.',
);

export const DumpQuery = z.object({ websiteId: z.string().min(1).max(200).optional().describe('Source id of the website that global (not per-website) data belongs to') });

export const DumpAccepted = z.object({
  batchId: z.uuid(),
  status: BatchStatus.describe('`queued` for a new batch; a duplicate answers the first batch\'s status'),
  statusUrl: z.string().describe('GET this to follow the batch'),
  duplicate: z.boolean().describe('true when the same dump was posted before by this user (200)'),
});

// ---- batches ----

export const Verification = z.looseObject({
  ok: z.boolean(),
  checkedAt: Iso,
  tables: z.record(z.string(), z.object({ expected: Int, present: Int, changed: Int, missing: Int })),
  differences: z.array(z.object({ table: z.string(), rowId: z.string(), sourceId: z.string().nullable(), problem: z.enum(['missing', 'changed']) })),
  accounting: z.object({ entries: Int, migrated: Int, preserved: Int, rejected: Int, pending: Int, balanced: z.boolean() }),
  problems: z.array(z.string()),
}).describe('The last verification: the batch\'s rows are present and unchanged, and every entry is accounted for');

export const Progress = z.object({
  fraction: z.number().describe('0..1 of the batch\'s work done'),
  rowsPerSecond: z.number().nullable(),
  etaSeconds: z.number().nullable().describe('Only while running'),
  currentPhase: z.string().nullable(),
});

const PhaseFields = {
  name: z.enum(PHASES),
  status: z.enum(['pending', 'running', 'completed', 'failed', 'rolled_back']),
  total: Int,
  done: Int,
  rejected: Int,
  attempts: Int,
  startedAt: Iso.nullable(),
  finishedAt: Iso.nullable(),
};
export const Phase = z.looseObject({ ...PhaseFields, error: z.string().nullable() });

const RowChanges = z.record(z.string(), z.object({ inserted: Int, updated: Int, deleted: Int }))
  .describe('Rows the batch inserted, updated and deleted per table, from its journal (rows already as they should be are not rewritten, so not counted)');
const Kind = z.enum(['snapshot', 'delta']).describe('A whole dump, or changes since baseBatchId (docs/cutover.md)');

export const BatchView = z.looseObject({
  id: z.uuid(),
  userId: z.string(),
  status: BatchStatus,
  kind: Kind,
  baseBatchId: z.uuid().nullable(),
  rootBatchId: z.uuid().nullable(),
  followedBy: z.array(z.uuid()).describe('Delta batches that follow this one'),
  createdAt: Iso,
  startedAt: Iso.nullable(),
  finishedAt: Iso.nullable(),
  dump: z.object({ sha256: z.string(), bytes: Int, encoding: z.enum(['json', 'ndjson']), source: JsonObject.describe('The dump header\'s source') }),
  error: JsonObject.nullable().describe('Why the batch failed or needs attention: {code, message, phase?, details?}'),
  phases: z.array(Phase),
  progress: Progress,
  counts: z.object({ entries: Int, staged: Int, migrated: Int, preserved: Int, rejected: Int, pending: Int, rejectedElements: Int }),
  report: z.object({
    balanced: z.boolean().describe('migrated + preserved + rejected = entries, none pending'),
    rows: z.record(z.string(), Int).describe('Rows the batch meant to have in place, per table (written or found unchanged)'),
    changes: RowChanges,
    rowsAsOf: Iso.nullable().describe('null once verified (rows and changes are exact, from the verification); while the batch is in flight, when rows and changes were counted (at most about a second before the answer, so status polls stay cheap)'),
    notes: JsonObject.describe('Decisions the mapping made (which website global data went to…)'),
    verification: Verification.nullable(),
    url: z.string(),
  }),
});

export const Outcome = z.enum(['migrated', 'preserved', 'rejected', 'pending']);

export const ReportQuery = z.object({
  limit: z.coerce.number().int().min(1).max(5000).default(1000).describe('Entries per page'),
  after: z.coerce.number().int().min(-1).default(-1).describe('The last entry seq of the previous page'),
  outcome: Outcome.optional(),
});

const Reject = z.looseObject({ entrySeq: Int, phase: z.string(), path: z.string(), code: z.string(), reason: z.string() });

export const BatchReport = z.object({
  batchId: z.uuid(),
  status: BatchStatus,
  kind: Kind,
  baseBatchId: z.uuid().nullable(),
  changes: RowChanges,
  totals: z.object({ entries: Int, migrated: Int, preserved: Int, rejected: Int, pending: Int }),
  balanced: z.boolean(),
  byKind: z.array(z.object({ kind: z.string(), area: z.string(), entries: Int, migrated: Int, preserved: Int, rejected: Int })),
  notes: JsonObject,
  verification: Verification.nullable(),
  entries: z.array(z.looseObject({
    seq: Int, area: z.string(), db: z.string().nullable(), store: z.string().nullable(), key: z.unknown().describe('The entry key (§1c encoded)'),
    kind: z.string(), outcome: Outcome, reason: z.string().nullable(), result: z.unknown().nullable(), bytes: Int,
  })),
  rejects: z.array(Reject).describe('Rejected elements inside entries (first 5000)'),
  next: z.string().nullable().describe('URL of the next page of entries'),
});

// ---- admin ----

export const ListBatchesQuery = z.object({
  status: BatchStatus.optional(),
  userId: z.string().max(200).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('Created at or after'),
  until: z.iso.datetime({ offset: true }).optional().describe('Created before'),
  q: z.string().max(200).optional().describe('A batch id, part of a user id, an upload id, an Idempotency-Key or a request id'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.iso.datetime({ offset: true }).optional().describe('`next` of the previous page'),
});

export const BatchList = z.object({
  batches: z.array(z.looseObject({
    id: z.uuid(), userId: z.string(), status: BatchStatus, entryCount: Int, dumpBytes: BigintText, error: JsonObject.nullable(),
    createdAt: Iso, startedAt: Iso.nullable(), finishedAt: Iso.nullable(), uploadId: z.string().nullable(), requestId: z.string().nullable(),
    verification: z.object({ ok: z.boolean(), problems: z.array(z.string()), checkedAt: Iso }).nullable(),
    counts: z.looseObject({ migrated: Int, preserved: Int, rejected: Int, pending: Int }).nullable(),
    phases: z.array(z.looseObject(PhaseFields)).nullable(),
    progress: Progress,
  })),
  next: Iso.nullable().describe('Pass as `before` for the next page'),
});

export const MintTokenBody = z.object({
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point (Postgres text holds no U+0000)
  userId: z.string().min(1).max(200).regex(/^[^\u0000-\u001f]+$/, 'no control characters').describe('The user the token uploads for'),
  role: z.enum(['uploader', 'operator']).default('uploader').describe('`operator`: read-only admin (dashboard, lists)'),
  label: z.string().max(200).optional(),
});
export const MintedToken = z.object({
  token: z.string().describe('Shown once; stored as its SHA-256 only'),
  tokenId: z.uuid(), userId: z.string(), role: z.enum(['uploader', 'operator']), createdAt: Iso,
});

export const TokenInfo = z.object({
  id: z.uuid(), userId: z.string(), role: z.enum(['uploader', 'operator']), label: z.string().nullable(), createdAt: Iso, revokedAt: Iso.nullable(),
}).describe('A token, without its secret');
export const TokenList = z.object({ tokens: z.array(TokenInfo) });
export const TokenListQuery = z.object({
  userId: z.string().min(1).max(200).optional(),
  includeRevoked: z.enum(['true', 'false']).default('false').describe('Also list revoked tokens'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export const TokenId = z.object({ id: z.uuid() });

export const Accepted = { batchId: z.uuid(), statusUrl: z.string() };
export const RetryAccepted = z.object({ ...Accepted, status: z.literal('queued'), run: Int.describe('The run the retry continues'), retried: z.array(z.string()).describe('Phases queued again') });
export const RollbackBody = z.strictObject({ force: z.boolean().default(false).describe('Also roll back the later batches that changed its rows, newest first') });
export const RollbackAccepted = z.object({ ...Accepted, status: z.literal('rolling_back'), batches: z.array(z.uuid()).describe('Rolled back, in this order'), jobId: z.string().optional() });
export const Verified = z.object({ batchId: z.uuid(), verification: Verification });

export const AuditQuery = z.object({
  target: z.string().max(300).optional().describe('e.g. batch:<id>, user:<id>'),
  action: z.string().max(40).optional().describe('Prefix, e.g. batch.rollback'),
  actor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().positive().optional().describe('`next` of the previous page'),
});
export const AuditList = z.object({
  entries: z.array(z.object({ id: z.string(), at: Iso, actor: z.string(), action: z.string(), target: z.string().nullable(), outcome: z.string(), details: JsonObject })),
  next: Int.nullable(),
});

export const RejectsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50), after: z.coerce.number().int().min(0).default(0).describe('The last reject id of the previous page') });
export const RejectList = z.object({
  batchId: z.uuid(),
  total: Int,
  rejects: z.array(Reject.extend({ id: BigintText, area: z.string().nullable(), entryKey: z.string().nullable().describe('JSON text of the entry key'), kind: z.string().nullable() })),
  next: z.string().nullable(),
});

export const EventStream = (what: string) =>
  z.string().describe(`Server-Sent Events: \`retry: 2000\`, then ${what} whenever it changes, \`event: problem\` if a read fails, a comment every 15 s. ` +
    'Asked with `Accept: application/json` instead, the same JSON is answered once.');
