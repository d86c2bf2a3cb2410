/**
 * Entity tags of data-API resources: the md5 of a row's full JSON form (computed by Postgres, `etagSql`),
 * so any change to any column, through the API or a batch, gives a new tag. Resources made of several
 * rows (a website's content section) combine their rows' tags.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../core/errors';

/** SQL for a row's tag; `alias` is the table alias. */
export const etagSql = (alias: string) => `md5(to_jsonb(${alias})::text)`;

export const quote = (tag: string): string => `"${tag}"`;

/** A tag for several rows' tags (order matters: callers pass them in resource order). */
export function combineTags(tags: string[]): string {
  return quote(createHash('md5').update(tags.join(',')).digest('hex'));
}

/**
 * Does the header (`If-Match` / `If-None-Match`: `*`, or a list of tags) match `etag`? `weak` compares
 * ignoring `W/` (RFC 9110 §8.8.3.2: If-None-Match uses the weak comparison, If-Match the strong one).
 */
export function matchesAny(header: string | undefined, etag: string, weak: boolean): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const tags = header.split(',').map((t) => t.trim()).filter(Boolean);
  return tags.some((t) => (weak ? t.replace(/^W\//, '') === etag.replace(/^W\//, '') : !t.startsWith('W/') && t === etag));
}

/** 412 unless `If-Match` is absent or names the current tag (`current` null: the resource is gone). */
export function checkIfMatch(ifMatch: string | undefined, current: string | null, what: string): void {
  if (ifMatch === undefined) return;
  if (current !== null && matchesAny(ifMatch, current, false)) return;
  throw new AppError(412, 'precondition_failed', `${what} changed since you read it (its ETag is no longer ${ifMatch.trim()}). Read it again, merge your change, and retry with the new ETag.`, { currentEtag: current });
}
