/**
 * Reading data-API rows: one row (or page) as `{r, etag}` where `r` is the row's JSON form (column names,
 * timestamps as text) and `etag` its tag. Every look-up is scoped to the caller's user (and website):
 * another user's id simply is not found, so it answers 404 like an id that never existed.
 */
import type { EntityManager, DataSource } from 'typeorm';
import { AppError, Errors } from '../../core/errors';
import { etagSql, quote } from './etag';

export type Db = DataSource | EntityManager;
export type RowJson = Record<string, unknown> & { id: string; source_id: string; user_id: string };
export interface Loaded { r: RowJson; etag: string }

/**
 * `read` inside one read-only REPEATABLE READ transaction: every statement it makes sees the same committed
 * state (a GET reads the website, then its rows: a write committing between them must not show half of
 * itself). Begun in one statement rather than TypeORM's three (begin, isolation level, read only).
 */
export async function readSnapshot<T>(ds: DataSource, read: (db: EntityManager) => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  try {
    await runner.query('START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const result = await read(runner.manager);
    await runner.query('COMMIT');
    return result;
  } catch (err) {
    await runner.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await runner.release();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);

/**
 * The row of `table` named by `ref` — its server id or the browser's id (`source_id`) — within `scope`
 * (column = value pairs, always including the owner). The server id wins when both match.
 */
export async function findRow(db: Db, table: string, scope: Record<string, string>, ref: string, forUpdate = false): Promise<Loaded | null> {
  const cols = Object.keys(scope);
  const where = cols.map((c, i) => `t."${c}" = $${i + 3}`).join(' AND ');
  const rows: { r: RowJson; etag: string }[] = await db.query(
    `SELECT to_jsonb(t) AS r, ${etagSql('t')} AS etag FROM "${table}" t
     WHERE ${where} AND (t.id = $1::uuid OR t.source_id = $2)
     ORDER BY (t.id = $1::uuid) IS TRUE DESC LIMIT 1 ${forUpdate ? 'FOR UPDATE OF t' : ''}`,
    [isUuid(ref) ? ref : null, ref, ...cols.map((c) => scope[c])],
  );
  return rows[0] ? { r: rows[0].r, etag: quote(rows[0].etag) } : null;
}

export async function mustFind(db: Db, table: string, scope: Record<string, string>, ref: string, what: string, forUpdate = false): Promise<Loaded> {
  const found = await findRow(db, table, scope, ref, forUpdate);
  if (!found) throw Errors.notFound(`${what} ${JSON.stringify(ref)}`);
  return found;
}

/** Timestamps from a row's JSON form (`2025-08-12T07:00:34.567+00:00`) as the browser wrote them (`…Z`). */
export function iso(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Keyset cursor over (created_at, id): opaque to clients, exact (keeps the timestamp's microseconds). */
export function encodeCursor(parts: unknown[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): string[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === 'string')) return parts;
  } catch {
    // fall through
  }
  throw new AppError(400, 'invalid_cursor', 'The cursor is not one this API gave out: pass nextCursor from the previous page unchanged, or omit it for the first page.');
}

/** ISO 8601 as Postgres' JSON form writes timestamps (what the cursors carry); anything else is refused. */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** A keyset cursor over (timestamp, id), checked strictly: a crafted one is a 400, never a SQL error. */
export function decodeTimeCursor(cursor: string): [string, string] {
  const [at, id] = decodeCursor(cursor, 2);
  if (!CURSOR_TIME.test(at) || Number.isNaN(Date.parse(at)) || !isUuid(id)) {
    throw new AppError(400, 'invalid_cursor', 'The cursor is not one this API gave out: pass nextCursor from the previous page unchanged, or omit it for the first page.');
  }
  return [at, id];
}

/** Drops keys whose value is null or undefined (optional fields the browser never wrote). */
export function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as T;
}
