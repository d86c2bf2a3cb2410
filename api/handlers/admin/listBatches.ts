/** GET /v1/admin/batches?status=&userId=&since=&until=&q=&limit=&before= — newest first. */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Errors } from '../../../core/errors';
import { BATCH_STATUSES } from '../../../entities';
import type { ApiDeps } from '../../context';

const Query = z.object({
  status: z.enum(BATCH_STATUSES).optional(),
  userId: z.string().max(200).optional(),
  since: z.coerce.date().optional(),
  until: z.coerce.date().optional(),
  q: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.date().optional(),
});

export function listBatches(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const p = Query.safeParse(req.query);
    if (!p.success) throw Errors.badRequest('invalid_query', 'Check status, userId, since, until, q and limit.', p.error.issues);
    const f = p.data;
    const rows = await deps.ds.query(
      `SELECT b.id, b.user_id AS "userId", b.status, b.entry_count AS "entryCount", b.dump_bytes::bigint AS "dumpBytes", b.error,
              b.created_at AS "createdAt", b.started_at AS "startedAt", b.finished_at AS "finishedAt",
              (SELECT json_agg(json_build_object('name', ph.name, 'status', ph.status, 'done', ph.done, 'total', ph.total) ORDER BY ph.position)
                 FROM migration_phases ph WHERE ph.batch_id = b.id) AS phases
       FROM migration_batches b
       WHERE ($1::text IS NULL OR b.status = $1) AND ($2::text IS NULL OR b.user_id = $2)
         AND ($3::timestamptz IS NULL OR b.created_at >= $3) AND ($4::timestamptz IS NULL OR b.created_at < $4)
         AND ($5::text IS NULL OR b.id::text = $5 OR b.user_id ILIKE '%' || $5 || '%')
         AND ($7::timestamptz IS NULL OR b.created_at < $7)
       ORDER BY b.created_at DESC LIMIT $6`,
      [f.status ?? null, f.userId ?? null, f.since ?? null, f.until ?? null, f.q ?? null, f.limit, f.before ?? null],
    );
    res.json({ batches: rows, next: rows.length === f.limit ? rows[rows.length - 1].createdAt : null });
  };
}
