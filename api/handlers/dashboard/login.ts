/**
 * The dashboard login: GET/POST /admin/login, POST /admin/logout, GET /admin/session.
 * POST /admin/login takes the admin token or an operator token (form field `token`), opens a session
 * (dashboard/session.ts) and sets its cookie; uploader tokens are refused — the dashboard sees every user.
 */
import type { Request, Response } from 'express';
import { AppError, Errors } from '../../../core/errors';
import { PAGE_HEADERS, renderLogin } from '../../../dashboard/assets';
import { clearedSessionCookie, readCookie, sameOrigin, SESSION_COOKIE, sessionCookie } from '../../../dashboard/session';
import { recordAudit } from '../../../jobs/audit';
import type { ApiDeps } from '../../context';
import { resolveCaller, sessionStoreOf } from '../../middleware/auth';

/** Only our own pages: an open redirect would let a link send a freshly logged-in admin anywhere. */
export function safeNext(raw: unknown): string {
  const s = typeof raw === 'string' ? raw : '';
  return /^\/admin(?:[/?#]|$)/.test(s) && !s.startsWith('//') && !s.includes('\\') ? s : '/admin';
}

/** Secure cookies whenever the client reached us over https (directly or via a proxy's X-Forwarded-Proto). */
function isHttps(deps: ApiDeps, req: Request): boolean {
  return req.secure || (deps.config.PUBLIC_URL ?? '').startsWith('https:');
}

function sendLogin(res: Response, status: number, opts: { error?: string; next: string }) {
  res.status(status).set(PAGE_HEADERS).type('html').send(renderLogin(opts));
}

export function loginPage() {
  return async (req: Request, res: Response) => sendLogin(res, 200, { next: safeNext(req.query.next) });
}

/** Too many failed logins: a browser gets the form again with the reason (429, Retry-After already set). */
export function loginLimitedPage(req: Request, res: Response, err: AppError): boolean {
  if (req.accepts(['json', 'html']) !== 'html') return false; // scripts get the JSON error form
  sendLogin(res, err.status, { error: err.message, next: '/admin' });
  return true;
}

export function postLogin(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const next = safeNext(req.body?.next);
    // Login CSRF: a foreign page must not log a browser into a session of the attacker's choosing.
    if (req.headers.origin && !sameOrigin(req.headers, req.host, deps.config.PUBLIC_URL)) throw Errors.forbidden('a login from another site');
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    const caller = token ? await resolveCaller(deps, token) : null;
    if (!caller || caller.role === 'uploader') {
      await recordAudit(deps.ds, { actor: caller?.actor ?? 'anonymous', action: 'dashboard.login', target: null, outcome: 'refused', details: { ip: req.ip, reason: caller ? 'uploader token' : 'invalid token' } });
      const error = caller ? 'That is an uploader token. The dashboard needs the admin token or an operator token.' : 'That token is not valid.';
      return sendLogin(res, caller ? 403 : 401, { error, next });
    }
    const role = caller.role as 'admin' | 'operator';
    const tokenId = caller.actor.startsWith('token:') ? caller.actor.slice('token:'.length) : null;
    const store = sessionStoreOf(deps);
    const { id } = await store.create({ role, actor: caller.actor, userId: caller.userId, tokenId });
    await recordAudit(deps.ds, { actor: caller.actor, action: 'dashboard.login', target: null, outcome: 'ok', details: { role, ip: req.ip } });
    deps.log.info({ reqId: req.id, actor: caller.actor, role }, 'dashboard login');
    res.setHeader('Set-Cookie', sessionCookie(id, { secure: isHttps(deps, req), maxAgeSeconds: store.ttlSeconds }));
    res.redirect(303, next);
  };
}

export function postLogout(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    if (!sameOrigin(req.headers, req.host, deps.config.PUBLIC_URL)) throw Errors.forbidden('a logout from another site');
    const id = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (id) await sessionStoreOf(deps).destroy(id);
    res.setHeader('Set-Cookie', clearedSessionCookie(isHttps(deps, req)));
    res.redirect(303, '/admin/login');
  };
}

/** Who is logged in and the CSRF token the pages send back in X-CSRF-Token. */
export function getSession(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const id = readCookie(req.headers.cookie, SESSION_COOKIE);
    const session = id ? await sessionStoreOf(deps).get(id) : null;
    const caller = req.caller!;
    res.set('Cache-Control', 'no-store').json({
      role: caller.role,
      actor: caller.actor,
      canAct: caller.role === 'admin',
      csrfToken: session?.csrf ?? null,
      expiresAt: session ? new Date(session.expiresAt).toISOString() : null,
    });
  };
}
