/**
 * GET /v1/batches/:id/report — the accounting: every source entry is migrated, preserved (kept raw) or
 * rejected with a reason, and the sums match the dump. Entries and element rejects are paged by seq/id
 * (?limit=, ?after=) so a million-entry dump never builds one giant response.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Errors } from '../../core/errors';
import type { MigrationBatch } from '../../entities';
import type { ApiDeps } from '../context';
import { batchRowCounts, entryCounts } from './getBatch';

const Query = z.object({
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  after: z.coerce.number().int().min(-1).default(-1),
  outcome: z.enum(['migrated', 'preserved', 'rejected', 'pending']).optional(),
});

export function getBatchReport(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const batch = res.locals.batch as MigrationBatch;
    const q = Query.safeParse(req.query);
    if (!q.success) throw Errors.badRequest('invalid_query', 'limit must be 1–5000 and after an entry seq.', q.error.issues);
    const { limit, after, outcome } = q.data;
    const counts = await entryCounts(deps.ds, batch.id);
    const byKind = await deps.ds.query(
      `SELECT kind, area, count(*)::int AS entries,
              count(*) FILTER (WHERE outcome = 'migrated')::int AS migrated,
              count(*) FILTER (WHERE outcome = 'preserved')::int AS preserved,
              count(*) FILTER (WHERE outcome = 'rejected')::int AS rejected
       FROM dump_entries WHERE batch_id = $1 GROUP BY kind, area ORDER BY kind, area`,
      [batch.id],
    );
    const entries = await deps.ds.query(
      `SELECT seq, area, db_name AS db, store_name AS store, entry_key AS key, kind, outcome, reason, result, value_bytes AS bytes
       FROM dump_entries WHERE batch_id = $1 AND seq > $2 AND ($4::text IS NULL OR outcome = $4) ORDER BY seq LIMIT $3`,
      [batch.id, after, limit, outcome ?? null],
    );
    const rejects = await deps.ds.query(
      `SELECT entry_seq AS "entrySeq", phase, path, code, reason FROM batch_rejects WHERE batch_id = $1 ORDER BY id LIMIT 5000`,
      [batch.id],
    );
    const sum = counts.migrated + counts.preserved + counts.rejected;
    res.json({
      batchId: batch.id,
      status: batch.status,
      totals: { entries: batch.entryCount, migrated: counts.migrated, preserved: counts.preserved, rejected: counts.rejected, pending: counts.pending },
      balanced: sum === batch.entryCount && counts.pending === 0,
      byKind,
      /** Rows inserted, updated and deleted per table (unchanged rows are not rewritten, so not counted). */
      changes: (await batchRowCounts(deps.ds, batch, { fresh: true })).changes,
      kind: batch.kind,
      baseBatchId: batch.baseBatchId,
      notes: batch.notes,
      verification: batch.verification,
      entries: entries.map((e: { key: string }) => ({ ...e, key: JSON.parse(e.key) })),
      rejects,
      next: entries.length === limit ? `/v1/batches/${batch.id}/report?after=${entries[entries.length - 1].seq}&limit=${limit}` : null,
    });
  };
}
