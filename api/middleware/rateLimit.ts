/**
 * Rate limits (docs/limits.md), counted in Redis so every API instance sharing REDIS_URL and QUEUE_PREFIX
 * enforces one budget: per client address on everything under /v1 and on failed dashboard logins, per
 * caller (its `actor`: `token:<id>`, or `admin`) after authentication. Over the limit: 429 with
 * Retry-After and the error form; every limited answer carries RateLimit-Limit/-Remaining/-Reset.
 *
 * Algorithm: a fixed window, `INCR` and (on the window's first hit) `PEXPIRE` in one Lua script, which
 * also returns the key's PTTL: one atomic round trip per check, one small key per client, and the reset
 * time comes from Redis' clock, so instances with skewed clocks still agree. A sliding log (a sorted set
 * of timestamps) would smooth the boundary burst (up to 2× the limit across two adjacent windows) but
 * costs a member per request — 6000 per busy token — and a trim on every call; against abuse, the fixed
 * window's bound is good enough.
 *
 * Keys: `<QUEUE_PREFIX>:rl:<scope>:<id>`, where the id is an address or an actor — a token's database id,
 * never the token (no secret in Redis).
 *
 * Redis trouble fails OPEN: a limiter that cannot count lets the request through and logs a warning (at
 * most every 10 s), rather than turning a Redis outage into an API outage. It does not wait for a Redis
 * that is reconnecting, and gives a slow one CHECK_TIMEOUT_MS.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { AppError } from '../../core/errors';
import { rateLimited as rateLimitedTotal } from '../../core/metrics';
import type { ApiDeps, Caller } from '../context';

export type Scope = 'ip' | 'token' | 'admin' | 'login';

export interface Verdict {
  scope: Scope;
  key: string;
  allowed: boolean;
  limit: number;
  remaining: number;
  windowSeconds: number;
  /** Seconds until the window ends (at least 1). */
  resetSeconds: number;
}

/**
 * A Redis that has not answered by then is treated as down (fail open). Generous: a loaded machine (or a
 * busy Redis) can take a few hundred ms, and a limiter that silently stops limiting then is worse than a
 * rare slow request; a Redis that is really gone is detected at once by its connection status.
 */
const CHECK_TIMEOUT_MS = 1000;
const WARN_EVERY_MS = 10_000;

const SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;

type LimiterRedis = Redis & { bsmRateLimit(key: string, windowMs: number): Promise<[number, number]> };

/** The headers a cross-origin client needs to read to back off (a 429 is readable from any origin). */
export const RATE_LIMIT_HEADERS = ['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];

export class RateLimiter {
  private readonly redis: LimiterRedis;
  private lastWarning = 0;

  constructor(private readonly deps: ApiDeps) {
    this.redis = deps.redis as LimiterRedis;
    // defineCommand sends EVALSHA and falls back to EVAL once per connection (NOSCRIPT after a restart).
    if (typeof this.redis.bsmRateLimit !== 'function') this.redis.defineCommand('bsmRateLimit', { numberOfKeys: 1, lua: SCRIPT });
  }

  /** Counts one request against `scope:id`; null when there is no limit (0) or Redis could not count. */
  async hit(scope: Scope, id: string, limit: number, windowSeconds: number): Promise<Verdict | null> {
    if (limit <= 0) return null;
    if (this.redis.status !== 'ready') return this.failOpen(`redis is ${this.redis.status}`);
    const key = `${this.deps.config.QUEUE_PREFIX}:rl:${scope}:${id}`;
    let timer: NodeJS.Timeout | undefined;
    try {
      const [count, ttlMs] = await Promise.race([
        this.redis.bsmRateLimit(key, windowSeconds * 1000),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS); }),
      ]);
      const resetSeconds = Math.max(1, Math.ceil(Number(ttlMs) / 1000));
      return { scope, key, allowed: count <= limit, limit, remaining: Math.max(0, limit - count), windowSeconds, resetSeconds };
    } catch (err) {
      return this.failOpen((err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Gives one counted request back (a successful login is not an attempt against the budget). */
  async refund(v: Verdict): Promise<void> {
    if (this.redis.status === 'ready') await this.redis.decr(v.key).catch(() => undefined);
  }

  private failOpen(reason: string): null {
    const now = Date.now();
    if (now - this.lastWarning > WARN_EVERY_MS) {
      this.lastWarning = now;
      this.deps.log.warn({ reason }, 'rate limiter cannot reach Redis: letting requests through unlimited');
    }
    return null;
  }
}

const limiters = new WeakMap<ApiDeps, RateLimiter>();
export function limiterOf(deps: ApiDeps): RateLimiter {
  let l = limiters.get(deps);
  if (!l) limiters.set(deps, (l = new RateLimiter(deps)));
  return l;
}

/**
 * RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers): the tightest of the limits that applied, so
 * a per-token answer does not hide a nearly spent per-address budget or the other way round.
 */
export function setRateLimitHeaders(res: Response, v: Verdict): void {
  const shown = res.getHeader('RateLimit-Remaining');
  if (shown !== undefined && Number(shown) < v.remaining) return;
  res.setHeader('RateLimit-Limit', String(v.limit));
  res.setHeader('RateLimit-Remaining', String(v.remaining));
  res.setHeader('RateLimit-Reset', String(v.resetSeconds));
}

const WHO: Record<Scope, string> = {
  ip: 'from your address',
  token: 'with this token',
  admin: 'with the admin token',
  login: 'failed dashboard logins from your address',
};

/** The 429: Retry-After, readable cross-origin (it holds nothing private), and the error form. */
export function rateLimitedError(res: Response, v: Verdict): AppError {
  res.setHeader('Retry-After', String(v.resetSeconds));
  if (!res.getHeader('Access-Control-Allow-Origin')) res.setHeader('Access-Control-Allow-Origin', '*');
  const exposed = String(res.getHeader('Access-Control-Expose-Headers') ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  res.setHeader('Access-Control-Expose-Headers', [...new Set([...exposed, ...RATE_LIMIT_HEADERS])].join(', '));
  rateLimitedTotal.inc({ scope: v.scope });
  const what = v.scope === 'login' ? `Too many ${WHO.login}` : `Too many requests ${WHO[v.scope]}`;
  return new AppError(429, 'rate_limited', `${what}: at most ${v.limit} per ${v.windowSeconds} s. Try again in ${v.resetSeconds} s.`, {
    scope: v.scope, limit: v.limit, windowSeconds: v.windowSeconds, retryAfterSeconds: v.resetSeconds,
  });
}

/** The per-address limit on everything under /v1. Preflights (OPTIONS) are free: browsers send them, not clients. */
export function ipRateLimit(deps: ApiDeps): RequestHandler {
  const limiter = limiterOf(deps);
  const { RATE_LIMIT_PER_IP: limit, RATE_LIMIT_WINDOW_S: window } = deps.config;
  return async (req: Request, res: Response, next: NextFunction) => {
    if (limit <= 0 || req.method === 'OPTIONS' || !(req.path === '/v1' || req.path.startsWith('/v1/'))) return next();
    try {
      const v = await limiter.hit('ip', req.ip ?? 'unknown', limit, window);
      if (v) setRateLimitHeaders(res, v);
      next(v && !v.allowed ? rateLimitedError(res, v) : undefined);
    } catch (err) {
      next(err);
    }
  };
}

/** The per-caller limit, run once the caller is known (auth.ts, and the tus adapter). Throws the 429. */
export async function limitCaller(deps: ApiDeps, res: Response, caller: Caller): Promise<void> {
  if (res.locals.rateLimitedCaller) return; // one request, one count (e.g. a route with two auth steps)
  res.locals.rateLimitedCaller = true;
  const admin = caller.actor === 'admin';
  const limit = admin ? deps.config.RATE_LIMIT_PER_ADMIN : deps.config.RATE_LIMIT_PER_TOKEN;
  const v = await limiterOf(deps).hit(admin ? 'admin' : 'token', caller.actor, limit, deps.config.RATE_LIMIT_WINDOW_S);
  if (!v) return;
  setRateLimitHeaders(res, v);
  if (!v.allowed) throw rateLimitedError(res, v);
}

/**
 * Failed dashboard logins per address. The attempt is counted before the token is checked (so parallel
 * guesses cannot overshoot) and given back when the login succeeds: only failures use up the budget.
 * `onLimited` lets the login page answer in HTML.
 */
export function loginRateLimit(deps: ApiDeps, onLimited: (req: Request, res: Response, err: AppError) => boolean): RequestHandler {
  const limiter = limiterOf(deps);
  const { LOGIN_LIMIT_PER_IP: limit, LOGIN_WINDOW_S: window } = deps.config;
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const v = await limiter.hit('login', req.ip ?? 'unknown', limit, window);
      if (!v) return next();
      if (!v.allowed) {
        const err = rateLimitedError(res, v);
        if (!onLimited(req, res, err)) next(err);
        return;
      }
      res.on('finish', () => {
        if (res.statusCode < 400) void limiter.refund(v);
      });
      next();
    } catch (err) {
      next(err);
    }
  };
}
