/**
 * Text a b-tree index can hold. Postgres refuses a row whose index entry is larger than about a third of a
 * page (2,704 bytes, after compression): "index row size … exceeds btree version 4 maximum", SQLSTATE
 * 54000, which fails the whole statement. A dump carries ids of any length (a content item whose id is 20,000
 * characters failed its whole batch), so the write path checks each row's indexed text first and refuses
 * only that row, with the reason, as it refuses text Postgres cannot store.
 *
 * The indexes are read from the catalog (once per table and connection pool), not listed by hand: what is
 * checked is exactly what the database has, indexes an operator added included.
 */
import type { DataSource, EntityManager } from 'typeorm';

/**
 * The most UTF-8 bytes the text columns of one index entry may hold together: below the b-tree's 2,704 with
 * room for its other columns (uuids, dates, ids) and headers, and without counting on compression.
 */
export const INDEX_TEXT_MAX_BYTES = 2000;

export interface TextIndex {
  name: string;
  /** Its text (text, varchar, char) key columns. */
  columns: string[];
}

const cache = new WeakMap<DataSource, Map<string, Promise<TextIndex[]>>>();

/**
 * The b-tree indexes of `table` (as search_path resolves it) that have text key columns. Read on the
 * caller's own connection (inside its transaction): a writer holding the user's row lock must not wait for a
 * second connection from a pool whose other connections may be waiting for that lock.
 */
export function textIndexes(m: EntityManager, table: string): Promise<TextIndex[]> {
  let byTable = cache.get(m.connection);
  if (!byTable) cache.set(m.connection, (byTable = new Map()));
  let hit = byTable.get(table);
  if (!hit) {
    hit = m.query(
      `SELECT c.relname AS name, array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       WHERE i.indrelid = to_regclass($1) AND k.ord <= i.indnkeyatts
         AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)
       GROUP BY c.relname ORDER BY c.relname`,
      [`"${table}"`],
    ) as Promise<TextIndex[]>;
    hit.catch(() => byTable!.delete(table)); // asked again next time
    byTable.set(table, hit);
  }
  return hit;
}

/** Why the record `rec` (column → value) cannot be indexed, or null when every index entry fits. */
export function indexTooLarge(rec: Record<string, unknown>, indexes: readonly TextIndex[]): string | null {
  for (const index of indexes) {
    let bytes = 0;
    let upper = 0;
    for (const c of index.columns) {
      const v = rec[c];
      if (typeof v === 'string') upper += 3 * v.length; // UTF-8 takes at most 3 bytes per UTF-16 unit
    }
    if (upper <= INDEX_TEXT_MAX_BYTES) continue;
    for (const c of index.columns) {
      const v = rec[c];
      if (typeof v === 'string') bytes += Buffer.byteLength(v);
    }
    if (bytes > INDEX_TEXT_MAX_BYTES) {
      const what = index.columns.length === 1 ? index.columns[0] : index.columns.join(' + ');
      return `its ${what} ${index.columns.length === 1 ? 'is' : 'are'} ${bytes.toLocaleString('en-US')} bytes of text, more than the ` +
        `${INDEX_TEXT_MAX_BYTES.toLocaleString('en-US')} one entry of the index ${index.name} can hold, so the row cannot be written`;
    }
  }
  return null;
}
