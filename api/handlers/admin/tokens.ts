/**
 * Tokens, admin only (listing: operators too). POST /v1/admin/tokens {"userId","role?","label?"} → {"token"}:
 * shown once, stored as SHA-256 only. GET /v1/admin/tokens lists them (never a hash). DELETE
 * /v1/admin/tokens/:id revokes one: every request with it answers 401 from then on, and an operator's
 * dashboard sessions end with it (api/middleware/auth.ts checks revoked_at on each request).
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { writeResult } from '../../../core/db';
import { Errors } from '../../../core/errors';
import { sha256Hex } from '../../../core/ids';
import { recordAudit } from '../../../jobs/audit';
import type { ApiDeps } from '../../context';
import { storableText } from '../../storableText';

const Body = z.object({
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point (Postgres text holds no U+0000)
  userId: storableText(200, 1).regex(/^[^\u0000-\u001f]+$/, 'no control characters').refine((s) => s.trim() !== '', 'must not be blank'),
  role: z.enum(['uploader', 'operator']).default('uploader'),
  label: storableText(200).optional(),
});

export function mintToken(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const parsed = Body.safeParse(req.body ?? {});
    if (!parsed.success) throw Errors.badRequest('invalid_body', 'Send {"userId": "<the user the token uploads for>"}.', parsed.error.issues);
    const { userId, role, label } = parsed.data;
    const token = `bsm_${randomBytes(32).toString('base64url')}`;
    const [row] = await deps.ds.query(`INSERT INTO api_tokens (token_hash, user_id, role, label) VALUES ($1, $2, $3, $4) RETURNING id, created_at`, [
      sha256Hex(token), userId, role, label ?? null,
    ]);
    await recordAudit(deps.ds, { actor: req.caller!.actor, action: 'token.mint', target: `user:${userId}`, outcome: 'ok', details: { tokenId: row.id, role } });
    res.status(201).json({ token, tokenId: row.id, userId, role, createdAt: row.created_at });
  };
}

const ListQuery = z.object({
  userId: storableText(200, 1).optional(),
  includeRevoked: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export function listTokens(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const q = ListQuery.safeParse(req.query);
    if (!q.success) throw Errors.badRequest('invalid_query', 'userId is 1–200 characters, includeRevoked true or false, limit 1–1000.', q.error.issues);
    const rows = await deps.ds.query(
      `SELECT id, user_id AS "userId", role, label, created_at AS "createdAt", revoked_at AS "revokedAt" FROM api_tokens
       WHERE ($1::text IS NULL OR user_id = $1) AND ($2 OR revoked_at IS NULL) ORDER BY created_at DESC, id LIMIT $3`,
      [q.data.userId ?? null, q.data.includeRevoked, q.data.limit],
    );
    res.json({ tokens: rows });
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function revokeToken(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const id = String(req.params.id);
    if (!UUID.test(id)) throw Errors.notFound(`Token ${id}`);
    // Idempotent: revoking twice keeps the first time.
    const { rows: [row] } = writeResult<{ userId: string; role: string }>(await deps.ds.query(
      `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
       RETURNING id, user_id AS "userId", role, label, created_at AS "createdAt", revoked_at AS "revokedAt"`,
      [id],
    ));
    if (!row) throw Errors.notFound(`Token ${id}`);
    await recordAudit(deps.ds, { actor: req.caller!.actor, action: 'token.revoke', target: `user:${row.userId}`, outcome: 'ok', details: { tokenId: id, role: row.role } });
    res.json(row);
  };
}
