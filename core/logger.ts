/**
 * Structured JSON logs (pino). Secrets are redacted by path, and job data never holds them (ids only).
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
];

export function createLogger(level: string, base: Record<string, unknown> = {}, dest?: pino.DestinationStream): Logger {
  return pino({ level, base: { ...base }, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}
