/** POST /v1/admin/tokens {"userId","role?","label?"} → {"token"}: shown once, stored as SHA-256 only. */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Errors } from '../../../core/errors';
import { sha256Hex } from '../../../core/ids';
import { recordAudit } from '../../../jobs/audit';
import type { ApiDeps } from '../../context';

const Body = z.object({
  userId: z.string().min(1).max(200).regex(/^[^\u0000-\u001f]+$/, 'no control characters'),
  role: z.enum(['uploader', 'operator']).default('uploader'),
  label: z.string().max(200).optional(),
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
