/**
 * Bearer-token auth (docs/http-api.md §2). The admin token comes from ADMIN_TOKEN; uploader tokens are minted by
 * an admin and stored as SHA-256 only. Browser pages under /admin may also send the admin token as the
 * password of HTTP basic auth. A caller that passes is counted against its own rate limit (rateLimit.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError, Errors } from '../../core/errors';
import { sha256Hex } from '../../core/ids';
import { createSessionStore, csrfSatisfied, readCookie, sameOrigin, SESSION_COOKIE } from '../../dashboard/session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
import type { ApiDeps, Caller } from '../context';
import { limitCaller } from './rateLimit';

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

export function sessionStoreOf(deps: ApiDeps) {
  return createSessionStore(deps.redis, { prefix: deps.config.QUEUE_PREFIX, ttlSeconds: deps.config.ADMIN_SESSION_TTL_S });
}

/**
 * The dashboard's login cookie (dashboard/session.ts) as a caller: null without a live session. Operator
 * sessions end when their token is revoked; a state-changing request must pass the CSRF rule.
 */
export async function callerFromSession(deps: ApiDeps, req: Request): Promise<Caller | null> {
  const id = readCookie(req.headers.cookie, SESSION_COOKIE);
  const session = id ? await sessionStoreOf(deps).get(id) : null;
  if (!session) return null;
  if (session.tokenId) {
    const [live] = await deps.ds.query(`SELECT 1 FROM api_tokens WHERE id = $1 AND revoked_at IS NULL`, [session.tokenId]);
    if (!live) return null;
  }
  if (!csrfSatisfied(req.method, req.headers, session, req.host, deps.config.PUBLIC_URL)) {
    throw new AppError(403, 'csrf_failed', 'This request changes state with a session cookie but carries no valid X-CSRF-Token header and does not come from this origin. Reload the page and try again.');
  }
  return { role: session.role, userId: session.userId, actor: session.actor };
}

/**
 * Requires a valid bearer/basic token or dashboard session; `roles` limits who may pass (403 for a valid
 * caller of another role). `loginRedirect` sends a browser that asks for a page to the login form instead.
 */
export function authenticate(deps: ApiDeps, roles: Caller['role'][], opts: { basicChallenge?: boolean; loginRedirect?: boolean } = {}): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const token = tokenFromRequest(req);
      const viaSession = token ? null : await callerFromSession(deps, req);
      if (viaSession) {
        if (!roles.includes(viaSession.role)) throw Errors.forbidden(req.baseUrl + req.path);
        req.caller = viaSession;
        await limitCaller(deps, res, viaSession);
        return next();
      }
      if (!token) {
        if (opts.loginRedirect && req.method === 'GET' && req.accepts(['json', 'html']) === 'html') {
          return res.redirect(303, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`);
        }
        if (opts.basicChallenge) res.setHeader('WWW-Authenticate', 'Basic realm="bsm admin", charset="UTF-8"');
        throw Errors.unauthorized();
      }
      const caller = await resolveCaller(deps, token);
      if (!caller) throw Errors.invalidToken();
      // Browsers replay cached basic-auth credentials on cross-site requests, as they do cookies: a
      // state-changing request authenticated that way must come from this origin (bearer tokens are never
      // sent by a browser on its own).
      if (/^basic /i.test(req.headers.authorization ?? '') && !SAFE_METHODS.has(req.method) && !sameOrigin(req.headers, req.host, deps.config.PUBLIC_URL)) {
        throw new AppError(403, 'csrf_failed', 'A state-changing request with basic auth must come from this origin. Use a bearer token for scripts, or the dashboard login.');
      }
      if (!roles.includes(caller.role)) throw Errors.forbidden(req.baseUrl + req.path);
      req.caller = caller;
      // Counted once the caller is known and allowed here: a refused request costs only its address' budget.
      await limitCaller(deps, res, caller);
      next();
    } catch (err) {
      next(err);
    }
  };
}
