/**
 * The one write path for migrated rows. Per chunk of rows, inside the caller's transaction:
 *   1. journal: the before-image of every row that will be inserted or changed (row_journal);
 *   2. upsert: INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE the row differs (unchanged rows are not
 *      rewritten and keep the batch that last wrote them);
 *   3. expectations: the checksum of every row the batch meant to have in place (batch_rows), for verify,
 *      with the entry each row came from.
 * Rows travel as one json parameter expanded by json_to_recordset: set-based, and clear of Postgres'
 * 65,535 bind-parameter limit.
 *
 * One row per id: a statement may not touch a row twice, and two entries producing the same row must not
 * both be reported as written. The row of the later entry (higher seq; within one entry, its later row)
 * wins, within this call and against the rows earlier pages or phases of the batch wrote
 * (batch_rows.entry_seq); the losers come back in `superseded` / `displaced`, naming the winner.
 */
import type { EntityManager } from 'typeorm';
import { isStorableDate, type Row, type TableName } from '../transforms/types';
import { PackedRows } from './copyBinary';
import { copyLines } from './copyLines';
import { copyJson, copyText } from './copyText';
import { isStorableText } from '../../format';
import { storableJson, TooDeepError } from './storable';
import { indexTooLarge, textIndexes } from './indexedText';
import { tableSpec, type TableSpec } from './tableSpec';

export interface WriteTarget {
  batchId: string;
  phase: string;
}

export interface WriteStats {
  inserted: number;
  updated: number;
  unchanged: number;
  /** Rows refused before reaching SQL (unstorable text; text too large for an index; an id another user's row holds), with the reason. */
  refused: { row: Row; reason: string; code?: string }[];
  /** Rows not written because a later row with the same id was (`by`: its entry's seq, null if none). */
  superseded: { row: Row; by: number | null }[];
  /** Rows an earlier page or phase wrote for entry `seq` that this call's row of entry `by` replaced. */
  displaced: { rowId: string; sourceId: string; seq: number; by: number }[];
}

/**
 * The checksum of a row as written, which verify compares with the row as it is: every column but batch_id,
 * in the entity's order, hashed by type (hash_record_extended, Postgres ≥ 14: each column's own 64-bit hash,
 * as hash partitioning uses, so stable across major versions), written `h` + 16 hex digits. No text output
 * of the row: ~1 µs a row, against ~11.5 µs for the md5 of its jsonb text (200,000 content items: 0.2 s
 * against 2.3 s, paid once when written and once when verified), and independent of the session's TimeZone.
 * Values jsonb holds equal (1 and 1.0) hash alike.
 */
export const rowChecksumSql = (spec: TableSpec, alias: string) =>
  `('h' || lpad(to_hex(hash_record_extended(ROW(${spec.columns.filter((c) => c.column !== 'batch_id').map((c) => `${alias}."${c.column}"`).join(', ')}), 0)), 16, '0'))`;

/** The checksum batches written before rowChecksumSql carry (32 hex digits): the md5 of the row's jsonb text. */
const legacyChecksumSql = (alias: string) => `md5((to_jsonb(${alias}) - 'batch_id')::text)`;

/** True when the row `alias` no longer has the checksum `stored` (of either form). */
export const checksumDiffersSql = (spec: TableSpec, alias: string, stored: string) =>
  `(CASE WHEN left(${stored}, 1) = 'h' THEN ${rowChecksumSql(spec, alias)} ELSE ${legacyChecksumSql(alias)} END <> ${stored})`;

interface Pending {
  row: Row;
  rec: Record<string, unknown>;
  seq: number | null;
}

/**
 * `seqs[i]` is the entry seq of `rows[i]`. Without it (rows no entry produced, e.g. a website the websites
 * phase creates for global data) rows are not compared with earlier writes of the batch.
 */
export async function upsertRows(m: EntityManager, target: WriteTarget, table: TableName, rows: Row[], chunkRows: number, seqs?: number[]): Promise<WriteStats> {
  const spec = tableSpec(m.connection, table);
  const stats: WriteStats = { inserted: 0, updated: 0, unchanged: 0, refused: [], superseded: [], displaced: [] };
  const byId = new Map<string, Pending>();
  const indexes = await textIndexes(m, spec.table);
  rows.forEach((row, i) => {
    const rec = toRecord(spec, row);
    if (typeof rec === 'string') return void stats.refused.push({ row, reason: rec });
    const tooLarge = indexTooLarge(rec, indexes);
    if (tooLarge) return void stats.refused.push({ row, reason: tooLarge, code: INDEX_TOO_LARGE });
    const seq = seqs?.[i] ?? null;
    const other = byId.get(row.id);
    if (other && seq !== null && other.seq !== null && other.seq > seq) return void stats.superseded.push({ row, by: other.seq });
    if (other) stats.superseded.push({ row: other.row, by: seq });
    byId.set(row.id, { row, rec, seq });
  });
  const present = await refuseForeignRows(m, spec, byId, stats);
  if (seqs) await againstEarlierWrites(m, target.batchId, table, byId, stats);
  if (byId.size === 0) return stats;
  // Rows whose id is not in the table yet (all of them, the first time a dump is migrated) take the plain
  // insert (insertSql): no probe of the table, no ON CONFLICT. No one else can insert them meanwhile: the
  // caller holds the user's row lock, and ids are the user's own (core/ids.ts); if a row appeared anyway,
  // the insert fails on the primary key and the page's next attempt merges it.
  const fresh: Pending[] = [];
  const known: Pending[] = [];
  for (const p of byId.values()) (present.has(p.row.id) ? known : fresh).push(p);
  const incoming = await stageIncoming(m, spec);
  let staged = false;
  for (const [rowsOf, sql] of [[fresh, insertSql], [known, mergeSql]] as const) {
    for (let i = 0; i < rowsOf.length; i += chunkRows) {
      const chunk = rowsOf.slice(i, i + chunkRows);
      if (staged) await m.query(`TRUNCATE ${incoming}`);
      staged = true;
      await copyInto(m, incoming, spec, chunk);
      const [res] = await m.query(sql(spec, incoming), [target.batchId, target.phase]);
      stats.inserted += Number(res.inserted);
      stats.updated += Number(res.updated);
      stats.unchanged += chunk.length - Number(res.inserted) - Number(res.updated);
    }
  }
  return stats;
}

export const FOREIGN_ROW = 'row_of_another_user';
/** A row whose text would not fit an index entry (jobs/write/indexedText.ts). */
export const INDEX_TOO_LARGE = 'too_large_for_index';

/**
 * Ids are per user (core/ids.ts), so a row of another user with one of these ids was put there by hand (or
 * by a bug): the upsert never updates it, the journal never records it, and the row is reported refused so
 * its entry's report says why instead of counting a row it does not have. The statement below checks the
 * owner again, for a row inserted after this check by a transaction that holds another user's lock.
 */
async function refuseForeignRows(m: EntityManager, spec: TableSpec, byId: Map<string, Pending>, stats: WriteStats): Promise<Set<string>> {
  const present = new Set<string>();
  if (byId.size === 0) return present;
  const found: { id: string; user_id: string }[] = await m.query(`SELECT id, user_id FROM "${spec.table}" WHERE id = ANY($1::uuid[])`, [[...byId.keys()]]);
  for (const f of found) {
    const mine = byId.get(f.id)!;
    present.add(f.id);
    if (f.user_id === mine.rec.user_id) continue;
    stats.refused.push({ row: mine.row, code: FOREIGN_ROW, reason: `a ${spec.table} row with the same id belongs to another user; it was left as it is` });
    byId.delete(f.id);
  }
  return present;
}

/**
 * Ids this batch already wrote for another entry (in an earlier page or phase): the later entry keeps the
 * row. A row here of an earlier entry is superseded (not written); an earlier entry's row that a row here
 * replaces is reported as displaced.
 */
async function againstEarlierWrites(m: EntityManager, batchId: string, table: TableName, byId: Map<string, Pending>, stats: WriteStats): Promise<void> {
  if (byId.size === 0) return;
  const earlier: { row_id: string; entry_seq: number }[] = await m.query(
    `SELECT row_id, entry_seq FROM batch_rows WHERE batch_id = $1 AND table_name = $2 AND row_id = ANY($3::uuid[]) AND entry_seq IS NOT NULL`,
    [batchId, table, [...byId.keys()]],
  );
  for (const e of earlier) {
    const mine = byId.get(e.row_id)!;
    if (mine.seq === null || mine.seq === e.entry_seq) continue;
    if (e.entry_seq > mine.seq) {
      stats.superseded.push({ row: mine.row, by: e.entry_seq });
      byId.delete(e.row_id);
    } else stats.displaced.push({ rowId: e.row_id, sourceId: mine.row.sourceId, seq: e.entry_seq, by: mine.seq });
  }
}

/** Row object (entity property names) → record keyed by column names, or the reason it can't be stored. */
export function toRecord(spec: TableSpec, row: Row): Record<string, unknown> | string {
  const rec: Record<string, unknown> = {};
  for (const c of spec.columns) {
    if (c.column === 'batch_id') continue;
    let v = row[c.property];
    if (v === undefined) v = null;
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) return `${c.property} is an invalid date`;
      if (!isStorableDate(v)) return `${c.property} is a date outside the years 1 to 9999, which the database cannot store`;
    } else if (c.sqlType === 'jsonb') {
      try {
        v = v === null ? null : storableJson(v);
      } catch (err) {
        if (err instanceof TooDeepError) return `${c.property} ${err.message}`;
        throw err;
      }
    } else if (typeof v === 'string' && !isStorableText(v)) {
      return `${c.property} holds U+0000 or a lone surrogate, which Postgres text cannot store; the raw entry is kept`;
    }
    if (v === null && !c.nullable) return `${c.property} is required`;
    rec[c.column] = v;
  }
  return rec;
}

/**
 * The incoming rows of one table, staged for the merge: a temporary table (dropped at commit) filled by
 * COPY (copyInto), whose input Postgres parses 3–5× faster than json_to_recordset over one json parameter
 * (docs/BENCHMARKS.md). Same columns as the target table but batch_id, plus the row's entry seq.
 */
async function stageIncoming(m: EntityManager, spec: TableSpec): Promise<string> {
  const name = `bsm_incoming_${spec.table}`;
  const defs = spec.columns.filter((c) => c.column !== 'batch_id').map((c) => `"${c.column}" ${c.sqlType}`).join(', ');
  await m.query(`CREATE TEMPORARY TABLE IF NOT EXISTS ${name} (${defs}, "entry_seq" integer) ON COMMIT DROP`);
  await m.query(`TRUNCATE ${name}`);
  return name;
}

/**
 * COPY … FROM STDIN of `rows` into the staging table, on the transaction's own connection: in COPY's binary
 * format, which Postgres reads without parsing uuids and timestamps from text or undoing escapes (staging
 * 10,000 content items: ~40 % less of its CPU, and no escaping pass here); in the text format when a value
 * is not one the binary form takes exactly (PackedRows.put).
 */
async function copyInto(m: EntityManager, incoming: string, spec: TableSpec, rows: Pending[]): Promise<void> {
  const cols = spec.columns.filter((c) => c.column !== 'batch_id');
  const columns = [...cols.map((c) => c.column), 'entry_seq'];
  const packed = packRows(cols, rows);
  if (packed) return copyLines(m, incoming, columns, packed, 'binary');
  await copyLines(m, incoming, columns, (function* () {
    let buf = '';
    for (const p of rows) {
      for (const c of cols) buf += `${copyField(p.rec[c.column], c.sqlType)}\t`;
      buf += p.seq === null ? '\\N\n' : `${p.seq}\n`;
      if (buf.length >= 1 << 20) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  })());
}

/** The rows in COPY's binary format, or undefined when one of their values is not one it takes exactly. */
function packRows(cols: TableSpec['columns'], rows: Pending[]): Buffer[] | undefined {
  const out = new PackedRows();
  for (const p of rows) {
    out.row(cols.length + 1);
    for (const c of cols) if (!out.put(p.rec[c.column], c.sqlType)) return undefined;
    if (!out.put(p.seq, 'integer')) return undefined;
  }
  return out.end();
}

/** One value in COPY's text format, as json_to_recordset read it from JSON.stringify before. */
function copyField(v: unknown, sqlType: string): string {
  if (v === null || v === undefined) return '\\N';
  if (sqlType === 'jsonb') return copyJson(JSON.stringify(v));
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return copyText(v);
  return typeof v === 'object' ? copyJson(JSON.stringify(v)) : copyText(String(v));
}


const sqlCache = new WeakMap<TableSpec, string>();
const insertCache = new WeakMap<TableSpec, string>();

/**
 * The same three parts for staged rows none of which is in the table yet (upsertRows checked): a plain
 * insert, its journal entries (`insert`, no before-image) and expectations from its RETURNING, without
 * probing the table for each row or going through ON CONFLICT. In id order: the ids are hashes, so in the
 * order they come every row lands on another leaf page of the table's primary key, the journal's row index
 * and batch_rows' key; sorted, neighbours share pages (10,000 rows: ~15 % less time for the statement).
 */
export function insertSql(spec: TableSpec, incoming: string): string {
  const hit = insertCache.get(spec);
  if (hit) return hit;
  const t = `"${spec.table}"`;
  const sql = `
    WITH inserted AS (
      INSERT INTO ${t} (${spec.columns.map((c) => `"${c.column}"`).join(', ')})
      SELECT ${spec.columns.map((c) => (c.column === 'batch_id' ? '$1::uuid' : `i."${c.column}"`)).join(', ')} FROM ${incoming} i
      ORDER BY i.id
      RETURNING ${t}.id, ${rowChecksumSql(spec, t)} AS checksum
    ),
    journal AS (
      INSERT INTO row_journal (batch_id, phase, table_name, row_id, op, before)
      SELECT $1, $2, '${spec.table}', x.id, 'insert', NULL FROM inserted x
      RETURNING 1
    ),
    expected AS (
      INSERT INTO batch_rows (batch_id, table_name, row_id, phase, checksum, entry_seq)
      SELECT $1, '${spec.table}', x.id, $2, x.checksum, i.entry_seq FROM inserted x JOIN ${incoming} i ON i.id = x.id
      ON CONFLICT (batch_id, table_name, row_id) DO UPDATE SET checksum = EXCLUDED.checksum, phase = EXCLUDED.phase, entry_seq = EXCLUDED.entry_seq
      RETURNING 1
    )
    SELECT count(*) AS inserted, 0 AS updated, (SELECT count(*) FROM journal) AS journaled, (SELECT count(*) FROM expected) AS expected
    FROM inserted`;
  insertCache.set(spec, sql);
  return sql;
}

/**
 * The merge of the staged rows, one statement: the journal (before-image of every row inserted or
 * changed), the upsert (unchanged rows are not rewritten; another user's row is neither updated nor
 * journaled) and the expectations (batch_rows: the checksum of every row the batch meant to have, from
 * the row as written — RETURNING — or, for an unchanged row, as it already is). All parts see the same
 * snapshot, taken under the user's row lock, so the before-images and the unchanged rows' checksums are
 * exactly the rows the upsert found.
 */
export function mergeSql(spec: TableSpec, incoming: string): string {
  const hit = sqlCache.get(spec);
  if (hit) return hit;
  const t = `"${spec.table}"`;
  const cols = spec.columns.map((c) => `"${c.column}"`);
  const data = spec.dataColumns.map((c) => `"${c.column}"`);
  const tuple = (alias: string) => `(${data.map((c) => `${alias}.${c}`).join(', ')})`;
  // The existing row of each incoming one, by primary key, one index probe per row (OFFSET 0 keeps the
  // planner from flattening it): a page is small next to a table holding every user's rows, but the
  // planner, knowing nothing of the staging table, would otherwise merge-join the table's whole index.
  const probe = (i: string) => `LATERAL (SELECT * FROM ${t} t WHERE t.id = ${i}.id OFFSET 0)`;
  const sql = `
    WITH journal AS (
      INSERT INTO row_journal (batch_id, phase, table_name, row_id, op, before)
      SELECT $1, $2, '${spec.table}', i.id,
             CASE WHEN t.id IS NULL THEN 'insert' ELSE 'update' END,
             CASE WHEN t.id IS NULL THEN NULL ELSE to_jsonb(t) END
      FROM ${incoming} i LEFT JOIN ${probe('i')} t ON true
      WHERE t.id IS NULL OR (t.user_id = i.user_id AND ${tuple('t')} IS DISTINCT FROM ${tuple('i')})
      RETURNING 1
    ),
    upserted AS (
      INSERT INTO ${t} (${cols.join(', ')})
      SELECT ${spec.columns.map((c) => (c.column === 'batch_id' ? '$1::uuid' : `i."${c.column}"`)).join(', ')} FROM ${incoming} i
      ON CONFLICT (id) DO UPDATE SET ${[...data, '"batch_id"'].map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
      WHERE ${t}.user_id = EXCLUDED.user_id AND ${tuple(t)} IS DISTINCT FROM ${tuple('EXCLUDED')}
      RETURNING ${t}.id, (xmax = 0) AS inserted, ${rowChecksumSql(spec, t)} AS checksum
    ),
    kept AS (
      SELECT t.id, ${rowChecksumSql(spec, 't')} AS checksum
      FROM ${incoming} i JOIN ${probe('i')} t ON t.user_id = i.user_id
      WHERE ${tuple('t')} IS NOT DISTINCT FROM ${tuple('i')}
    ),
    expected AS (
      INSERT INTO batch_rows (batch_id, table_name, row_id, phase, checksum, entry_seq)
      SELECT $1, '${spec.table}', x.id, $2, x.checksum, i.entry_seq
      FROM (SELECT id, checksum FROM upserted UNION ALL SELECT id, checksum FROM kept) x JOIN ${incoming} i ON i.id = x.id
      ON CONFLICT (batch_id, table_name, row_id) DO UPDATE SET checksum = EXCLUDED.checksum, phase = EXCLUDED.phase, entry_seq = EXCLUDED.entry_seq
      RETURNING 1
    )
    SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated,
           (SELECT count(*) FROM journal) AS journaled, (SELECT count(*) FROM expected) AS expected
    FROM upserted`;
  sqlCache.set(spec, sql);
  return sql;
}
