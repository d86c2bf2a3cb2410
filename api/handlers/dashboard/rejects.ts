/**
 * GET /v1/admin/batches/:id/rejects?after=&limit= — element rejects (batch_rejects), paged by id, with the
 * entry they belong to. Whole rejected entries page through /v1/batches/:id/report?outcome=rejected.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Errors } from '../../../core/errors';
import type { MigrationBatch } from '../../../entities';
import type { ApiDeps } from '../../context';

const Query = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  after: z.coerce.number().int().min(0).default(0),
});

export function listRejects(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const q = Query.safeParse(req.query);
    if (!q.success) throw Errors.badRequest('invalid_query', 'limit must be 1–500 and after a reject id.', q.error.issues);
    const batch = res.locals.batch as MigrationBatch;
    const { limit, after } = q.data;
    const rows: { id: string }[] = await deps.ds.query(
      `SELECT r.id::bigint AS id, r.entry_seq AS "entrySeq", r.phase, r.path, r.code, r.reason, d.area, d.entry_key AS "entryKey", d.kind
       FROM batch_rejects r LEFT JOIN dump_entries d ON d.batch_id = r.batch_id AND d.seq = r.entry_seq
       WHERE r.batch_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3`,
      [batch.id, after, limit],
    );
    const [{ total }] = await deps.ds.query(`SELECT count(*)::int AS total FROM batch_rejects WHERE batch_id = $1`, [batch.id]);
    const last = rows[rows.length - 1];
    res.json({ batchId: batch.id, total, rejects: rows, next: rows.length === limit ? `/v1/admin/batches/${batch.id}/rejects?after=${last.id}&limit=${limit}` : null });
  };
}
