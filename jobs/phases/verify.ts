/**
 * Last phase: does the database hold what the batch wrote, and does the report add up?
 *  - per table, the rows the batch meant to have (batch_rows) against the rows present, by checksum of
 *    each row's canonical form: a row missing or changed behind the system's back is named;
 *  - every entry accounted for: migrated + preserved + rejected = entries in the dump, none pending;
 *  - a non-empty dump that migrated nothing is never `completed`.
 * The batch ends `completed` or `needs_attention` with the differences listed.
 */
import { batchOutcomes } from '../../core/metrics';
import { transition } from '../lifecycle';
import { writeOrder } from '../transforms/layout';
import type { PhaseRun } from './context';
import { checksumDiffersSql } from '../write/upsertRows';
import { tableSpec } from '../write/tableSpec';
import { rowChanges, type RowChanges } from '../write/rowChanges';

const MAX_LISTED = 50;
/** The batch's rows of a table are verified in this many id ranges at once (one connection each). */
const VERIFY_PARTS = 4;

/** `n` ranges [lo, hi) covering every uuid (hi null: to the end), split evenly on the first byte. */
function idRanges(n: number): [string, string | null][] {
  const bound = (i: number) => `${Math.floor((256 * i) / n).toString(16).padStart(2, '0')}000000-0000-0000-0000-000000000000`;
  return Array.from({ length: n }, (_, i) => [bound(i), i === n - 1 ? null : bound(i + 1)]);
}

export interface Verification {
  ok: boolean;
  checkedAt: string;
  tables: Record<string, { expected: number; present: number; changed: number; missing: number; changedThroughApi?: number }>;
  differences: { table: string; rowId: string; sourceId: string | null; problem: 'missing' | 'changed' }[];
  accounting: { entries: number; migrated: number; preserved: number; rejected: number; pending: number; balanced: boolean };
  problems: string[];
  /** What the batch changed (its journal), kept here so status polls of a finished batch need not count it. */
  changes: RowChanges;
}

export async function verifyBatch(run: Pick<PhaseRun, 'deps' | 'batch' | 'layout'>): Promise<Verification> {
  const { ds } = run.deps;
  const batchId = run.batch.id;
  const tables: Verification['tables'] = {};
  const differences: Verification['differences'] = [];
  // Rows changed or deleted through the data API after the batch started are the app's own later writes,
  // not damage: counted apart (changedThroughApi), never a problem.
  const since = run.batch.startedAt ?? run.batch.createdAt ?? new Date(0);
  const viaApi = `EXISTS (SELECT 1 FROM api_writes w WHERE w.table_name = b.table_name AND w.row_id = b.row_id AND w.at >= $3 AND w.discarded_by IS NULL)`;
  for (const table of writeOrder(run.layout)) {
    const spec = tableSpec(ds, table);
    // Counted in Postgres: the batch's rows per table can be millions; only the first few bad ones are listed.
    // Recomputing every row's checksum and joining it is the cost (200,000 content items: ~1 s of one backend), so the rows
    // are counted in VERIFY_PARTS ranges of their ids side by side, one connection each, on as many cores.
    // OFFSET 0 keeps `api` one probe of api_writes per row: inlined, each FILTER below would probe again.
    const parts: { expected: number; missing: number; changed: number; api: number }[] = await Promise.all(
      idRanges(VERIFY_PARTS).map(([lo, hi]) => ds.query(
        `SELECT count(*)::int AS expected,
                count(*) FILTER (WHERE api)::int AS api,
                count(*) FILTER (WHERE t.id IS NULL AND NOT api)::int AS missing,
                count(*) FILTER (WHERE t.id IS NOT NULL AND NOT api AND ${checksumDiffersSql(spec, 't', 'b.checksum')})::int AS changed
         FROM (SELECT b.*, ${viaApi} AS api FROM batch_rows b
               WHERE b.batch_id = $1 AND b.table_name = $2 AND b.row_id >= $4::uuid AND ($5::uuid IS NULL OR b.row_id < $5::uuid)
               OFFSET 0) b
         LEFT JOIN "${table}" t ON t.id = b.row_id`,
        [batchId, table, since, lo, hi],
      ).then((rows: typeof parts) => rows[0])),
    );
    const count = parts.reduce((a, p) => ({ expected: a.expected + p.expected, api: a.api + p.api, missing: a.missing + p.missing, changed: a.changed + p.changed }));
    if (count.expected === 0) continue;
    tables[table] = { expected: count.expected, present: count.expected - count.missing, changed: count.changed, missing: count.missing, ...(count.api ? { changedThroughApi: count.api } : {}) };
    const room = MAX_LISTED - differences.length;
    if (count.missing + count.changed === 0 || room <= 0) continue;
    const bad: { row_id: string; source_id: string | null; problem: 'missing' | 'changed' }[] = await ds.query(
      `SELECT * FROM (
         SELECT b.row_id, t.source_id, CASE WHEN t.id IS NULL THEN 'missing' WHEN ${checksumDiffersSql(spec, 't', 'b.checksum')} THEN 'changed' END AS problem
         FROM batch_rows b LEFT JOIN "${table}" t ON t.id = b.row_id
         WHERE b.batch_id = $1 AND b.table_name = $2 AND NOT ${viaApi}) r
       WHERE problem IS NOT NULL LIMIT $4`,
      [batchId, table, since, room],
    );
    for (const r of bad) differences.push({ table, rowId: r.row_id, sourceId: r.source_id, problem: r.problem });
  }
  const [acc] = await ds.query(
    `SELECT count(*)::int AS entries,
            count(*) FILTER (WHERE outcome = 'migrated')::int AS migrated,
            count(*) FILTER (WHERE outcome = 'preserved')::int AS preserved,
            count(*) FILTER (WHERE outcome = 'rejected')::int AS rejected,
            count(*) FILTER (WHERE outcome = 'pending')::int AS pending
     FROM dump_entries WHERE batch_id = $1`,
    [batchId],
  );
  const balanced = acc.pending === 0 && acc.entries === run.batch.entryCount && acc.migrated + acc.preserved + acc.rejected === acc.entries;
  const problems: string[] = [];
  const totalBad = Object.values(tables).reduce((s, t) => s + t.changed + t.missing, 0);
  if (totalBad > 0) problems.push(`${totalBad} row(s) written by this batch are missing or were changed since`);
  if (!balanced) problems.push(`the report does not add up: ${acc.entries} of ${run.batch.entryCount} entries staged, ${acc.pending} pending`);
  if (run.batch.entryCount > 0 && acc.migrated === 0) problems.push('the dump has entries but none was migrated');
  return { ok: problems.length === 0, checkedAt: new Date().toISOString(), tables, differences, accounting: { ...acc, balanced }, problems, changes: await rowChanges(ds, batchId) };
}

export async function verify(run: PhaseRun): Promise<void> {
  await refreshStatistics(run);
  const v = await verifyBatch(run);
  await run.progress(1, 1);
  // The phase and the batch finish together, so nobody sees a finished batch with verify still running.
  // Only from running: a batch a rollback claimed meanwhile (or one an earlier run of this job finished)
  // keeps its status, and nothing is recorded.
  const to = v.ok ? 'completed' : 'needs_attention';
  const moved = await run.deps.ds.transaction(async (m) => {
    const done = await transition(m, run.batch.id, {
      from: ['running'], to,
      set: { verification: v as unknown as Record<string, unknown>, finishedAt: 'now', error: v.ok ? null : { code: 'verification_failed', message: v.problems.join('; '), phase: 'verify' } },
    });
    if (done) await m.query(`UPDATE migration_phases SET status = 'completed', finished_at = now() WHERE batch_id = $1 AND name = 'verify'`, [run.batch.id]);
    return done;
  });
  if (moved) batchOutcomes.inc({ status: to, phase: 'verify' });
}

/**
 * Planner statistics of the tables this batch filled, refreshed before the checks: a batch can add
 * hundreds of thousands of rows to content_items, row_journal and batch_rows within a minute, before
 * autovacuum's analyze notices, and with the old statistics the planner picks nested loops and full index
 * scans sized for the empty tables — the verification, and a rollback of the batch right after (its plan
 * and undo), ran 4–5× slower (200,000 items: rollback 10.5 s instead of 2.3 s, docs/BENCHMARKS.md).
 * SKIP_LOCKED: a table autovacuum is analyzing right now is left to it.
 */
async function refreshStatistics(run: PhaseRun): Promise<void> {
  const { ds } = run.deps;
  const wrote: { table_name: string }[] = await ds.query(
    `SELECT DISTINCT table_name FROM batch_rows WHERE batch_id = $1`, [run.batch.id]);
  const tables = [...new Set(['row_journal', 'batch_rows', 'dump_entries', ...wrote.map((w) => w.table_name)])].filter((t) => /^[a-z_]+$/.test(t));
  // One statement per table, side by side (each samples its table on its own connection).
  await Promise.all(tables.map((t) => ds.query(`ANALYZE (SKIP_LOCKED) "${t}"`)));
}
