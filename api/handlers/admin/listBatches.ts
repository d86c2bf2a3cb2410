/**
 * GET /v1/admin/batches?status=&userId=&since=&until=&q=&limit=&before= — newest first. `q` matches a batch
 * id, a user (substring), an upload id (notes.uploadId, or the Idempotency-Key) or the request id that
 * created the batch. Each batch carries its phases, entry counts, verification summary and `progress`
 * (rows/s and ETA, dashboard/progress.ts); the dashboard's live stream reuses queryBatches.
 */
import type { Request, Response } from 'express';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { Errors } from '../../../core/errors';
import { BATCH_STATUSES } from '../../../entities';
import { batchProgress } from '../../../dashboard/progress';
import type { ApiDeps } from '../../context';
import { storableText } from '../../storableText';

export const ListQuery = z.object({
  status: z.enum(BATCH_STATUSES).optional(),
  userId: storableText(200).optional(),
  since: z.coerce.date().optional(),
  until: z.coerce.date().optional(),
  q: storableText(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.date().optional(),
});

export type ListFilters = z.infer<typeof ListQuery>;

/**
 * Counts come from the verification's accounting once a batch is verified (cheap), and are counted live
 * from dump_entries otherwise (Postgres evaluates that correlated subquery only when COALESCE needs it).
 */
export async function queryBatches(ds: DataSource, f: ListFilters) {
  const rows = await ds.query(
    `SELECT b.id, b.user_id AS "userId", b.status, b.entry_count AS "entryCount", b.dump_bytes::bigint AS "dumpBytes", b.error,
            b.created_at AS "createdAt", b.started_at AS "startedAt", b.finished_at AS "finishedAt",
            b.notes->>'uploadId' AS "uploadId", b.notes->>'requestId' AS "requestId",
            CASE WHEN b.verification IS NULL THEN NULL
                 ELSE json_build_object('ok', b.verification->'ok', 'problems', b.verification->'problems', 'checkedAt', b.verification->'checkedAt') END AS verification,
            COALESCE(CASE WHEN b.status IN ('completed', 'needs_attention') THEN b.verification->'accounting' END,
              (SELECT jsonb_build_object('migrated', count(*) FILTER (WHERE d.outcome = 'migrated'), 'preserved', count(*) FILTER (WHERE d.outcome = 'preserved'),
                                        'rejected', count(*) FILTER (WHERE d.outcome = 'rejected'), 'pending', count(*) FILTER (WHERE d.outcome = 'pending'))
                 FROM dump_entries d WHERE d.batch_id = b.id)) AS counts,
            (SELECT json_agg(json_build_object('name', ph.name, 'status', ph.status, 'done', ph.done, 'total', ph.total, 'rejected', ph.rejected,
                                               'attempts', ph.attempts, 'startedAt', ph.started_at, 'finishedAt', ph.finished_at) ORDER BY ph.position)
               FROM migration_phases ph WHERE ph.batch_id = b.id) AS phases
     FROM migration_batches b
     WHERE ($1::text IS NULL OR b.status = $1) AND ($2::text IS NULL OR b.user_id = $2)
       AND ($3::timestamptz IS NULL OR b.created_at >= $3) AND ($4::timestamptz IS NULL OR b.created_at < $4)
       AND ($5::text IS NULL OR b.id::text = $5 OR b.user_id ILIKE '%' || $5 || '%' OR b.idempotency_key = $5
            OR b.notes->>'uploadId' = $5 OR b.notes->>'requestId' = $5)
       AND ($7::timestamptz IS NULL OR b.created_at < $7)
     ORDER BY b.created_at DESC LIMIT $6`,
    [f.status ?? null, f.userId ?? null, f.since ?? null, f.until ?? null, f.q ?? null, f.limit, f.before ?? null],
  );
  const now = Date.now();
  const batches = rows.map((b: Parameters<typeof batchProgress>[0] & { phases: Parameters<typeof batchProgress>[1] }) => ({ ...b, progress: batchProgress(b, b.phases, now) }));
  return { batches, next: rows.length === f.limit ? rows[rows.length - 1].createdAt : null };
}

export function listBatches(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const p = ListQuery.safeParse(req.query);
    if (!p.success) throw Errors.badRequest('invalid_query', 'Check status, userId, since, until, q and limit.', p.error.issues);
    res.json(await queryBatches(deps.ds, p.data));
  };
}
