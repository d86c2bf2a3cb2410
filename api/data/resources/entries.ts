/**
 * GET /v1/entries — the rows of the generic layout (`browser_entries`, jobs/transforms/generic): one per
 * browser storage entry of a dump migrated with `?layout=generic`, filtered by area, database, store and
 * key, keyset-paged by id (a page never repeats or skips a row because others were inserted meanwhile).
 * `key` matches the key's text form: a string key itself, any other key its canonical §1c JSON (`1`,
 * `[1,"a"]`, `{"$t":"Date","v":"…"}`), so a string key "1" and the number 1 both match `key=1`; each row's
 * `key` says which it is. docs/data-api.md, docs/format.md §4.
 */
import { z } from 'zod';
import { AppError } from '../../../core/errors';
import { route, type DataRequest } from '../route';
import { decodeCursor, encodeCursor, isUuid, iso, type RowJson } from '../rows';
import { Cursor, IsoDate, Limit, errors } from '../schemas';

const NO_NUL = 'must not contain U+0000';
const Name = z.string().min(1).max(1000).refine((s) => !s.includes('\u0000'), NO_NUL);
const Area = z.enum(['localStorage', 'sessionStorage', 'indexedDB']);
const ListQuery = z.strictObject({
  area: Area.optional().describe('Only entries of this storage area'),
  db: Name.optional().describe('Only entries of this IndexedDB database'),
  store: Name.optional().describe('Only entries of this IndexedDB object store'),
  key: z.string().max(100_000).refine((s) => !s.includes('\u0000'), NO_NUL).optional()
    .describe('Only entries whose key has this text form: a string key itself, any other key its canonical §1c JSON'),
  cursor: Cursor,
  limit: Limit,
});

export const BrowserEntry = z
  .object({
    id: z.uuid(),
    area: Area,
    db: z.string().nullable(),
    store: z.string().nullable(),
    key: z.unknown().describe('Web storage: the key string. IndexedDB: the key in its §1c form (a Date is {"$t":"Date","v":…})'),
    keyText: z.string().describe('What `key=` matches'),
    value: z.unknown().describe('IndexedDB: the value in its §1c form. Web storage: the stored string parsed as JSON when it is JSON, else the string'),
    rawValue: z.string().nullable().describe('Web storage, when `value` is parsed JSON: the stored string exactly (the stored string is rawValue ?? value)'),
    batchId: z.uuid().nullable().describe('The batch that last wrote it'),
    createdAt: IsoDate,
    updatedAt: IsoDate,
  })
  .describe('One browser storage entry, as the generic layout keeps it');
const EntryPage = z.object({ items: z.array(BrowserEntry), nextCursor: z.string().nullable().describe('null on the last page') });

function entryShape(r: RowJson) {
  return {
    id: r.id,
    area: r.area as z.infer<typeof Area>,
    db: r.db_name as string | null,
    store: r.store_name as string | null,
    key: r.key,
    keyText: r.key_text as string,
    value: r.value,
    rawValue: r.raw_value as string | null,
    batchId: r.batch_id as string | null,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

function decodeIdCursor(cursor: string): string {
  const [id] = decodeCursor(cursor, 1);
  if (!isUuid(id)) throw new AppError(400, 'invalid_cursor', 'The cursor is not one this API gave out: pass nextCursor from the previous page unchanged, or omit it for the first page.');
  return id;
}

type Q = z.infer<typeof ListQuery>;

export const entryRoutes = [
  route({
    method: 'get', path: '/v1/entries', operationId: 'listEntries', tag: 'Browser entries (generic layout)', auth: 'user',
    summary: 'A page of the browser storage entries migrated with the generic layout, by area, database, store and key',
    description: 'Rows of dumps uploaded with `?layout=generic` (or the tus metadata `layout`). Every filter is optional; pages follow the row id.',
    query: ListQuery,
    responses: { 200: { description: 'One page', schema: EntryPage }, ...errors(400, 401, 403) },
    handler: async (req: DataRequest<Record<string, string>, Q>) => {
      const q = req.query;
      const where = ['t.user_id = $1'];
      const args: unknown[] = [req.caller.userId];
      const add = (sql: string, v: unknown) => {
        args.push(v);
        where.push(sql.replace('?', `$${args.length}`));
      };
      if (q.area !== undefined) add('t.area = ?', q.area);
      if (q.db !== undefined) add('t.db_name = ?', q.db);
      if (q.store !== undefined) add('t.store_name = ?', q.store);
      if (q.key !== undefined) add('t.key_text = ?', q.key);
      if (q.cursor) add('t.id > ?::uuid', decodeIdCursor(q.cursor));
      args.push(q.limit + 1);
      const rows: { r: RowJson }[] = await req.db.query(
        `SELECT to_jsonb(t) AS r FROM browser_entries t WHERE ${where.join(' AND ')} ORDER BY t.id LIMIT $${args.length}`,
        args,
      );
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return { body: { items: page.map((x) => entryShape(x.r)), nextCursor: rows.length > page.length ? encodeCursor([last.r.id]) : null } };
    },
  }),
];
