/**
 * Dashboard login sessions: a random session id in an HttpOnly cookie, the session itself in Redis.
 *
 * Why a server-side session and not an HMAC-signed cookie: logout and token revocation take effect at once
 * (delete the key; operator sessions re-check their token on every request), no new signing secret has to
 * be configured and rotated, and Redis is already required by every API instance. The cookie carries
 * only 32 random bytes — never the admin or operator token — and Redis keys are the SHA-256 of the id, so
 * a Redis dump yields no usable cookie. The TTL is absolute (ADMIN_SESSION_TTL_S): log in again after it.
 *
 * CSRF: the cookie is SameSite=Strict; on top of that, a request authenticated by the cookie that changes
 * state must carry the session's CSRF token in `X-CSRF-Token` (our pages do) or come from our own origin
 * by its Origin / Sec-Fetch-Site headers (Bull Board's UI, which we cannot teach a header).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Redis } from 'ioredis';
import { sha256Hex } from '../core/ids';

export const SESSION_COOKIE = 'bsm_session';

export interface SessionData {
  role: 'admin' | 'operator';
  /** Same actor string as the token it was opened with, so the audit log names the same who. */
  actor: string;
  userId: string | null;
  /** The operator token's id, re-checked on every request (revocation ends the session). */
  tokenId: string | null;
  csrf: string;
  expiresAt: number;
}

export function createSessionStore(redis: Redis, opts: { prefix: string; ttlSeconds: number }) {
  const key = (id: string) => `${opts.prefix}:admin-session:${sha256Hex(id)}`;
  return {
    ttlSeconds: opts.ttlSeconds,
    async create(who: Omit<SessionData, 'csrf' | 'expiresAt'>): Promise<{ id: string; session: SessionData }> {
      const id = randomBytes(32).toString('base64url');
      const session: SessionData = { ...who, csrf: randomBytes(24).toString('base64url'), expiresAt: Date.now() + opts.ttlSeconds * 1000 };
      await redis.set(key(id), JSON.stringify(session), 'EX', opts.ttlSeconds);
      return { id, session };
    },
    async get(id: string): Promise<SessionData | null> {
      if (!/^[\w-]{20,100}$/.test(id)) return null;
      const raw = await redis.get(key(id));
      return raw ? (JSON.parse(raw) as SessionData) : null;
    },
    async destroy(id: string): Promise<void> {
      await redis.del(key(id));
    },
  };
}
export type SessionStore = ReturnType<typeof createSessionStore>;

/** The value of one cookie from a Cookie header (no dependency needed for one name). */
export function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return null; // malformed %-escape: treat as no cookie
      }
    }
  }
  return null;
}

/** Set-Cookie for a session: Path=/ because the pages call /v1/admin/* and Bull Board lives at /admin/queues. */
export function sessionCookie(id: string, opts: { secure: boolean; maxAgeSeconds: number }): string {
  return [`${SESSION_COOKIE}=${id}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${opts.maxAgeSeconds}`, ...(opts.secure ? ['Secure'] : [])].join('; ');
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', { secure, maxAgeSeconds: 0 });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Is the request's Origin (or Sec-Fetch-Site) our own origin? `host` is the Host the client used. */
export function sameOrigin(headers: IncomingHttpHeaders, host: string | undefined, publicUrl?: string): boolean {
  const origin = headers.origin;
  if (typeof origin === 'string' && origin !== 'null') {
    try {
      const o = new URL(origin);
      if (host && o.host === host) return true;
      return Boolean(publicUrl && new URL(publicUrl).origin === o.origin);
    } catch {
      return false;
    }
  }
  return headers['sec-fetch-site'] === 'same-origin';
}

/** CSRF rule for cookie-authenticated requests (see the file comment). */
export function csrfSatisfied(method: string, headers: IncomingHttpHeaders, session: SessionData, host: string | undefined, publicUrl?: string): boolean {
  if (SAFE_METHODS.has(method.toUpperCase())) return true;
  const given = headers['x-csrf-token'];
  if (typeof given === 'string' && given.length === session.csrf.length && timingSafeEqual(Buffer.from(given), Buffer.from(session.csrf))) return true;
  return sameOrigin(headers, host, publicUrl);
}
