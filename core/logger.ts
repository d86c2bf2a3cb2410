/**
 * Structured JSON logs (pino). Secrets are redacted by path, and job data never holds them (ids only).
 * Paths cover the shapes we log on purpose; `scrubSecrets` is the safety net for a secret-named key at any
 * depth (say a dump fragment in an error's details), which pino's fixed-depth paths cannot express.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'config.apiKey',
  'password',
  '*.password',
  // Dashboard sessions and HTTP headers (issue 7): cookies carry session ids, X-CSRF-Token its token.
  'req.headers["x-csrf-token"]',
  'headers.cookie',
  'headers["x-csrf-token"]',
  '*.headers.authorization',
  '*.headers.cookie',
  'res.headers["set-cookie"]',
  'cookie',
  'csrfToken',
  '*.csrfToken',
  '*.*.*.apiKey',
  'secret',
  '*.secret',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  // A config object logged whole.
  '*.ADMIN_TOKEN',
  '*.METRICS_TOKEN',
  '*.ENCRYPTION_KEY',
  '*.ENCRYPTION_OLD_KEYS',
  '*.AWS_SECRET_ACCESS_KEY',
];

/** Key names whose values are secrets wherever they appear (compared lower-case). */
const SECRET_KEYS = new Set(['authorization', 'cookie', 'set-cookie', 'x-csrf-token', 'csrftoken', 'token', 'apikey', 'api_key', 'password', 'secret', 'accesstoken', 'refreshtoken', 'admin_token', 'metrics_token', 'encryption_key', 'encryption_old_keys', 'aws_secret_access_key', 'secretaccesskey']);
const MAX_DEPTH = 8;

/** A copy of `value` with secret-named keys censored at any depth (plain objects and arrays only). */
export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubSecrets(v, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // Errors, Dates, Buffers: pino serializes them
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k.toLowerCase()) ? '[redacted]' : scrubSecrets(v, depth + 1);
  return out;
}

export function createLogger(level: string, base: Record<string, unknown> = {}, dest?: pino.DestinationStream): Logger {
  return pino(
    {
      level, base: { ...base }, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (obj) => scrubSecrets(obj) as Record<string, unknown> },
    },
    dest,
  );
}
