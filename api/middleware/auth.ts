/**
 * Bearer-token auth (CONTRACT §2). The admin token comes from ADMIN_TOKEN; uploader tokens are minted by
 * an admin and stored as SHA-256 only. Browser pages under /admin may also send the admin token as the
 * password of HTTP basic auth.
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Errors } from '../../core/errors';
import { sha256Hex } from '../../core/ids';
import type { ApiDeps, Caller } from '../context';

export function tokenFromRequest(req: Request): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const [scheme, value] = h.split(' ', 2);
  if (/^bearer$/i.test(scheme) && value) return value.trim();
  if (/^basic$/i.test(scheme) && value) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i >= 0 ? decoded.slice(i + 1) : null;
  }
  return null;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(sha256Hex(a));
  const y = Buffer.from(sha256Hex(b));
  return timingSafeEqual(x, y);
}

export async function resolveCaller(deps: ApiDeps, token: string): Promise<Caller | null> {
  if (sameSecret(token, deps.config.ADMIN_TOKEN)) return { role: 'admin', userId: null, actor: 'admin' };
  const [row] = await deps.ds.query(`SELECT id, user_id, role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, [sha256Hex(token)]);
  if (!row) return null;
  return { role: row.role === 'operator' ? 'operator' : 'uploader', userId: row.user_id, actor: `token:${row.id}` };
}

/** Requires a valid token; `roles` limits who may pass (403 for a valid token of another role). */
export function authenticate(deps: ApiDeps, roles: Caller['role'][], opts: { basicChallenge?: boolean } = {}): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const token = tokenFromRequest(req);
      if (!token) {
        if (opts.basicChallenge) res.setHeader('WWW-Authenticate', 'Basic realm="bsm admin", charset="UTF-8"');
        throw Errors.unauthorized();
      }
      const caller = await resolveCaller(deps, token);
      if (!caller) throw Errors.invalidToken();
      if (!roles.includes(caller.role)) throw Errors.forbidden(req.baseUrl + req.path);
      req.caller = caller;
      next();
    } catch (err) {
      next(err);
    }
  };
}
