/**
 * Two entries of one batch that produce the same row: the write path keeps the later entry's row
 * (jobs/write/upsertRows.ts). This module puts that in the report, for the losers:
 *  - `duplicateReject`: the element reject of a row that was not written, naming the winner's seq;
 *  - `recordDisplaced`: an entry of an earlier page or phase whose row a later entry replaced. Its outcome
 *    was already recorded, so it gets the reject now, and an entry left with none of its rows in the
 *    database turns from 'migrated' to 'rejected' with the reason.
 */
import type { EntityManager } from 'typeorm';
import { printableJson } from '../../format';
import type { ElementReject, Row, TableName } from '../transforms/types';

export const DUPLICATE_ROW = 'duplicate_row';

/**
 * Where a row of a reject came from: `table:sourceId`, the id cut to 200 characters (a dump may carry ids of
 * any length, and a report of thousands of rejects should not repeat them whole).
 */
export function rowPath(table: string, sourceId: string): string {
  if (sourceId.length <= 200) return `${table}:${sourceId}`;
  const cut = /[\ud800-\udbff]/.test(sourceId[199]) ? 199 : 200; // not between the halves of a surrogate pair
  return `${table}:${sourceId.slice(0, cut)}…`;
}

const LATER_WINS = 'the later entry wins, as the browser\'s last write would';

export function duplicateReject(table: TableName, row: Row, seq: number, by: number | null): ElementReject {
  const reason = by === seq
    ? `this entry holds the same ${table} row twice; its later copy was written (${LATER_WINS})`
    : by === null
      ? `another ${table} row with the same id was written instead`
      : `entry #${by}, later in the dump, produces the same ${table} row and its value was written (${LATER_WINS}); this value was not`;
  return { path: rowPath(table, row.sourceId), code: DUPLICATE_ROW, reason };
}

export interface Displaced {
  table: TableName;
  rowId: string;
  sourceId: string;
  /** The entry whose row was replaced. */
  seq: number;
  /** The later entry whose row replaced it. */
  by: number;
}

interface EntryRow {
  seq: number;
  outcome: string;
  reason: string | null;
  result: { tables?: Record<string, number>; rejects?: number } | null;
}

export interface RejectRow { entry_seq: number; phase: string; path: string; code: string; reason: string }

/** Element rejects into batch_rejects, in one statement; ids from the dump in their paths are printable (printableJson). */
export async function insertRejectRows(m: EntityManager, batchId: string, rejects: RejectRow[]): Promise<void> {
  if (rejects.length === 0) return;
  await m.query(
    `INSERT INTO batch_rejects (batch_id, entry_seq, phase, path, code, reason)
     SELECT $1, r.entry_seq, r.phase, r.path, r.code, r.reason FROM json_to_recordset($2::json) AS r(entry_seq int, phase text, path text, code text, reason text)`,
    [batchId, printableJson(rejects)],
  );
}

/** Returns the number of rejects recorded (for the phase's progress). */
export async function recordDisplaced(m: EntityManager, batchId: string, phase: string, displaced: Displaced[]): Promise<number> {
  if (displaced.length === 0) return 0;
  const rejects = displaced.map((d) => ({
    entry_seq: d.seq, phase, path: rowPath(d.table, d.sourceId), code: DUPLICATE_ROW,
    reason: `entry #${d.by}, later in the dump, produces the same ${d.table} row and its value replaced this one (${LATER_WINS})`,
  }));
  await insertRejectRows(m, batchId, rejects);
  const entries: EntryRow[] = await m.query(
    `SELECT seq, outcome, reason, result FROM dump_entries WHERE batch_id = $1 AND seq = ANY($2::int[])`,
    [batchId, [...new Set(displaced.map((d) => d.seq))]],
  );
  const updates = entries.map((e) => {
    const mine = displaced.filter((d) => d.seq === e.seq);
    const tables = { ...(e.result?.tables ?? {}) };
    for (const d of mine) tables[d.table] = Math.max(0, (tables[d.table] ?? 0) - 1);
    const left = Object.values(tables).reduce((s, n) => s + n, 0);
    const gone = e.outcome === 'migrated' && left === 0;
    return {
      seq: e.seq,
      outcome: gone ? 'rejected' : e.outcome,
      reason: gone ? `none of its rows is in the database: ${rejects.find((r) => r.entry_seq === e.seq)!.reason}` : e.reason,
      result: { ...e.result, tables, rejects: (e.result?.rejects ?? 0) + mine.length },
    };
  });
  await m.query(
    `UPDATE dump_entries d SET outcome = o.outcome, reason = o.reason, result = o.result
     FROM json_to_recordset($2::json) AS o(seq int, outcome text, reason text, result jsonb)
     WHERE d.batch_id = $1 AND d.seq = o.seq`,
    [batchId, printableJson(updates)],
  );
  return rejects.length;
}
