/** GET /v1/admin/audit?target=&action=&actor=&limit=&before= — newest first. */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Errors } from '../../../core/errors';
import type { ApiDeps } from '../../context';
import { storableText } from '../../storableText';

const Query = z.object({
  target: storableText(300).optional(),
  action: storableText(40).optional(),
  actor: storableText(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().positive().optional(),
});

export function listAudit(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const p = Query.safeParse(req.query);
    if (!p.success) throw Errors.badRequest('invalid_query', 'Check target, action, actor, limit and before.', p.error.issues);
    const f = p.data;
    const entries = await deps.ds.query(
      `SELECT id::text, at, actor, action, target, outcome, details FROM audit_log
       WHERE ($1::text IS NULL OR target = $1) AND ($2::text IS NULL OR action LIKE $2 || '%') AND ($3::text IS NULL OR actor = $3)
         AND ($5::bigint IS NULL OR id < $5)
       ORDER BY id DESC LIMIT $4`,
      [f.target ?? null, f.action ?? null, f.actor ?? null, f.limit, f.before ?? null],
    );
    res.json({ entries, next: entries.length === f.limit ? Number(entries[entries.length - 1].id) : null });
  };
}
