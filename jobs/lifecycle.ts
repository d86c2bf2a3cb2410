/**
 * The one owner of a batch's status. Every status write goes through `transition`: a compare-and-set
 * (`WHERE status = ANY(from)`) along an edge of the table below. A caller that finds the batch in another
 * state gets null and decides (skip, refuse with 409, or throw); nobody overwrites a status it did not see.
 * An edge not in the table is a programming error and throws before touching the database.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { writeResult } from '../core/db';
import { BATCH_STATUSES, type BatchStatus } from '../entities/MigrationBatch';
import { printableJson } from '../format';

export { BATCH_STATUSES, type BatchStatus };

/** Statuses a rollback may take a batch from (requestRollback's claim, the job's re-check under the user lock). */
export const ROLLBACKABLE: BatchStatus[] = ['completed', 'needs_attention', 'failed', 'rolling_back'];
/** Statuses of a batch whose phases may be writing (or about to): never rolled back, never re-verified. */
export const ACTIVE: BatchStatus[] = ['received', 'queued', 'running'];

/** from → the statuses it may go to. Each edge says who takes it and why. */
export const TRANSITIONS: Record<BatchStatus, Partial<Record<BatchStatus, string>>> = {
  received: {
    queued: 'startBatch (postDump, postDelta, finishUpload): its flow is in Redis now; the reconciler: it re-queued a batch the API never queued',
    running: 'runPhase: a worker picked the first phase up before startBatch marked it queued',
  },
  queued: {
    queued: 'the reconciler: Redis lost the queued flow, re-added as a new run',
    running: 'runPhase: a phase starts',
    failed: 'markPhaseFailed: a job failed for good before its phase ever ran (stalled, lost)',
    rolled_back: 'retryBatch: the re-apply could not be queued (Redis), the batch goes back to what it was',
  },
  running: {
    queued: 'the reconciler: Redis lost the running flow, re-added as a new run (done work is idempotent)',
    running: 'runPhase: the next phase (or a retry of this one) starts',
    completed: 'verify phase: verification passed',
    needs_attention: 'verify phase: verification found problems',
    failed: 'markPhaseFailed: the last attempt of a phase failed',
  },
  completed: {
    completed: 'reverifyBatch: verified again, still fine',
    needs_attention: 'reverifyBatch: verified again, rows changed behind its back',
    rolling_back: 'requestRollback claims it; the rollback job (undoNext, under the user lock) claims a batch its plan took along since',
  },
  needs_attention: {
    completed: 'reverifyBatch: the problems are gone',
    needs_attention: 'reverifyBatch: still problems (verification refreshed)',
    rolling_back: 'requestRollback / the rollback job, as from completed',
  },
  failed: {
    queued: 'retryBatch: the failed jobs (or a new run) are queued again',
    rolling_back: 'requestRollback / the rollback job, as from completed',
  },
  rolling_back: {
    rolling_back: 'undoNext: takes the claimed batch\'s row (compare-and-set) in the transaction that undoes it',
    rolled_back: 'undoNext (the rollback job): the undo committed, in the transaction that claimed it',
    completed: 'a rollback that could not go ahead gives the batch back (requestRollback, the rollback job)',
    needs_attention: 'as to completed',
    failed: 'as to completed (also the fallback when the status before was not recorded)',
  },
  rolled_back: {
    queued: 'retryBatch: re-applied as a new run',
  },
};

export function allowed(from: BatchStatus, to: BatchStatus): boolean {
  return TRANSITIONS[from]?.[to] !== undefined;
}

export interface TransitionSet {
  /** The batch's error (null clears it); left alone when undefined. */
  error?: Record<string, unknown> | null;
  verification?: Record<string, unknown> | null;
  /** 'now' stamps the time; null clears it; 'keep' (startedAt) keeps an earlier start. */
  startedAt?: 'now' | 'keep' | null;
  finishedAt?: 'now' | null;
  /** Merged into notes (jsonb ||). */
  notes?: Record<string, unknown>;
  /** Records the status the batch had before, under notes.statusBeforeRollback (a rollback's claim). */
  rememberStatus?: boolean;
}

export interface Transitioned {
  id: string;
  status: BatchStatus;
}

/**
 * Moves batch `batchId` to `to` if it is in one of `from` (compare-and-set); returns null if it was not.
 * `to` may also be 'previous' for a give-back: notes.statusBeforeRollback (or `fallback`).
 */
export async function transition(
  db: DataSource | EntityManager, batchId: string,
  t: { from: BatchStatus[]; to: BatchStatus; set?: TransitionSet },
): Promise<Transitioned | null> {
  for (const f of t.from) if (!allowed(f, t.to)) throw new Error(`batch lifecycle: ${f} → ${t.to} is not an allowed transition`);
  const params: unknown[] = [batchId, t.from, t.to];
  const sets = ['status = $3', 'updated_at = now()'];
  const s = t.set ?? {};
  const param = (v: unknown) => { params.push(v); return `$${params.length}`; };
  if (s.error !== undefined) sets.push(`error = ${param(s.error === null ? null : printableJson(s.error))}::jsonb`);
  if (s.verification !== undefined) sets.push(`verification = ${param(s.verification === null ? null : JSON.stringify(s.verification))}::jsonb`);
  if (s.startedAt === 'now') sets.push('started_at = now()');
  else if (s.startedAt === 'keep') sets.push('started_at = coalesce(b.started_at, now())');
  else if (s.startedAt === null) sets.push('started_at = NULL');
  if (s.finishedAt === 'now') sets.push('finished_at = now()');
  else if (s.finishedAt === null) sets.push('finished_at = NULL');
  let notes = 'b.notes';
  // In SET, `b.status` is the value the row had before this UPDATE: the status being left.
  if (s.rememberStatus) notes = `${notes} || jsonb_build_object('statusBeforeRollback', b.status)`;
  if (s.notes) notes = `${notes} || ${param(printableJson(s.notes))}::jsonb`;
  if (notes !== 'b.notes') sets.push(`notes = ${notes}`);
  // Under READ COMMITTED, an UPDATE that waited for a concurrent writer re-checks its WHERE on the row as
  // that writer left it: the status test holds at the moment of the write, not of the statement's start.
  const res = await db.query(
    `UPDATE migration_batches b SET ${sets.join(', ')} WHERE b.id = $1 AND b.status = ANY($2::text[]) RETURNING b.id, b.status`,
    params,
  );
  const [row] = writeResult<Transitioned>(res).rows;
  return row ?? null;
}

/**
 * Gives a rollback's claimed batches back: each still `rolling_back` returns to the status recorded when it
 * was claimed (notes.statusBeforeRollback), or `failed` if none was. Returns the ids given back.
 */
export async function giveBackRollback(db: DataSource | EntityManager, ids: string[], error?: Record<string, unknown>): Promise<string[]> {
  const rows: { id: string; before: string | null }[] = await db.query(
    `SELECT id, notes->>'statusBeforeRollback' AS before FROM migration_batches WHERE id = ANY($1::uuid[]) AND status = 'rolling_back'`,
    [ids],
  );
  const back: string[] = [];
  for (const r of rows) {
    const to = (r.before && allowed('rolling_back', r.before as BatchStatus) ? r.before : 'failed') as BatchStatus;
    const done = await transition(db, r.id, { from: ['rolling_back'], to, set: error ? { error } : {} });
    if (done) back.push(r.id);
  }
  return back;
}
