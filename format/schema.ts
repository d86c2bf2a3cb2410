/**
 * zod schemas for the pieces of a dump (docs/format.md §1). The readers check `format` and
 * `version` by hand first so that a wrong version gets its own error code; these
 * schemas then check everything else.
 */
import { z } from 'zod';
import { MAX_VALUE_DEPTH, MAX_VALUE_NODES, STORABLE_TEXT, exceeds, findUnstorable } from './bounds';
import { isIsoDateTime } from './codec';
import { DUMP_FORMAT, DUMP_VERSION } from './types';

/** "present (any JSON, may be null)": only a missing key / undefined is refused. */
const present = (what: string) =>
  z.custom<unknown>((v) => v !== undefined, { message: `${what} is required (null is allowed)` });

const isoDateTime = z.string().refine(isIsoDateTime, {
  message: 'must be an ISO 8601 date-time, e.g. 2026-11-28T10:00:00.000Z',
});

/**
 * §1a: "all optional but capturedAt"; extra fields are kept. The header is kept as jsonb with its batch,
 * so no string or key in it may hold what Postgres cannot store (U+0000, a lone surrogate), and it nests
 * no deeper than an entry value may: refused here (400) rather than failing the request after the dump
 * was stored.
 */
export const SourceSchema = z.looseObject({
  app: z.string().optional(),
  origin: z.string().optional(),
  userAgent: z.string().optional(),
  capturedAt: isoDateTime,
}).superRefine((source, ctx) => {
  const broken = exceeds(source, MAX_VALUE_DEPTH, MAX_VALUE_NODES);
  if (broken) {
    ctx.addIssue({
      code: 'custom',
      message: broken === 'depth'
        ? `must not nest arrays/objects more than ${MAX_VALUE_DEPTH} levels deep (MAX_VALUE_DEPTH)`
        : `must not hold more than ${MAX_VALUE_NODES} values and object keys (MAX_VALUE_NODES)`,
    });
    return; // and the walk below is not needed
  }
  const bad = findUnstorable(source);
  if (bad) {
    const what = bad.key ? 'a key of this object' : 'this string';
    ctx.addIssue({ code: 'custom', path: bad.path, message: `${what} must not contain U+0000 or a lone surrogate (Postgres cannot store them)` });
  }
});

export const HeaderSchema = z.object({
  format: z.literal(DUMP_FORMAT),
  version: z.literal(DUMP_VERSION),
  source: SourceSchema,
});

/** IndexedDB key paths: "compound keyPaths are JSON arrays"; null for out-of-line keys. */
export const KeyPathSchema = z.union([z.string(), z.array(z.string()), z.null()]);

export const IndexSchema = z.looseObject({
  name: z.string(),
  keyPath: z.union([z.string(), z.array(z.string())]),
  unique: z.boolean().optional(),
  multiEntry: z.boolean().optional(),
});

/** §1b `{"area":"localStorage","key":"...","value":"..."}` — value is "the raw stored string". */
export const KvEntrySchema = z.object({
  op: z.literal('put').optional(),
  area: z.enum(['localStorage', 'sessionStorage']),
  key: z.string(),
  value: z.string(),
});

/**
 * Database and store names are kept as text columns: Postgres text cannot hold U+0000 or a lone UTF-16
 * surrogate, so such a name is refused with the dump (400) rather than failing the batch later.
 */
const STORABLE_NAME = STORABLE_TEXT;
const dbName = () => z.string().min(1).regex(STORABLE_NAME, 'must not contain U+0000 or a lone surrogate');
const storeName = () => z.string().regex(STORABLE_NAME, 'must not contain U+0000 or a lone surrogate');

/** §1b `{"area":"indexedDB","db":...,"dbVersion":1,"store":...,"keyPath":"id","key":<encoded>,"value":<encoded>}` */
export const IdbEntrySchema = z.object({
  op: z.literal('put').optional(),
  area: z.literal('indexedDB'),
  db: dbName(),
  dbVersion: z.number().int().positive(),
  store: storeName(),
  // Lenient: a line without keyPath is read as an out-of-line-key store.
  keyPath: KeyPathSchema.optional().transform((k) => k ?? null),
  autoIncrement: z.boolean().optional(),
  indexes: z.array(IndexSchema).optional(),
  key: present('key'),
  value: present('value'),
});

/** A delta's removal of a Web Storage entry (docs/cutover.md): no value. */
export const KvRemovalSchema = z.strictObject({
  op: z.literal('delete'),
  area: z.enum(['localStorage', 'sessionStorage']),
  key: z.string(),
});

/** A delta's removal of an IndexedDB record: database, store and the §1c-encoded key; no value. */
export const IdbRemovalSchema = z.strictObject({
  op: z.literal('delete'),
  area: z.literal('indexedDB'),
  db: dbName(),
  store: storeName(),
  key: present('key'),
});

/** §1b last line: `{"end":true,"entries":N}`. */
export const TrailerSchema = z.object({
  end: z.literal(true),
  entries: z.number().int().nonnegative(),
});

// ---- §1a document parts (the reader streams the containers, these check the leaves) ----

/** An item of the §1a `localStorage` / `sessionStorage` arrays. */
export const DocKvItemSchema = z.object({ key: z.string(), value: z.string() });

/** The scalar part of a §1a `indexedDB[]` element (its `stores` are streamed). */
export const DocDatabaseSchema = z.object({
  name: dbName(),
  version: z.number().int().positive(),
});

/** The scalar part of a §1a `stores[]` element (its `records` are streamed). */
export const DocStoreSchema = z.object({
  name: storeName(),
  keyPath: KeyPathSchema.optional().transform((k) => k ?? null),
  autoIncrement: z.boolean().optional(),
  indexes: z.array(IndexSchema).optional(),
});

/** An item of a §1a `records` array. */
export const DocRecordSchema = z.object({ key: present('key'), value: present('value') });
