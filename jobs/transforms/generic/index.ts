/**
 * The generic layout: any origin's storage, one `browser_entries` row per dump entry, queryable per user,
 * area, database, store and key (GET /v1/entries, docs/data-api.md). It knows nothing of the app, so every
 * entry is of one kind, `entry`, migrated by one phase, `entries`; nothing is sealed (it cannot know which
 * values are secrets: use a layout that does for dumps that hold them).
 *
 * A row (docs/format.md §4 states the same):
 *  - id: deterministic from user + area + database + store + the key's canonical §1c JSON (core/ids.ts), so
 *    the same key of the same store is the same row in every batch, and "1" and 1 are two rows;
 *  - key (jsonb): web storage the key string; IndexedDB the key in its §1c form (a Date is
 *    {"$t":"Date","v":…}, binary {"$t":"ArrayBuffer","b64":…}, arrays of those are arrays);
 *  - keyText: the key as text for lookups: a string key itself, any other key its canonical §1c JSON
 *    (`1`, `[1,"a"]`, `{"$t":"Date","v":"2026-01-01T00:00:00.000Z"}`);
 *  - value (jsonb): IndexedDB the value in its §1c form (lossless: the dump's own encoding); web storage the
 *    stored string parsed as JSON when it is JSON (so it can be queried with jsonb operators), else the string;
 *  - rawValue (jsonb string): web storage only, the stored string exactly, whenever `value` is parsed JSON
 *    (jsonb normalizes spacing, key order and number spelling, so the parsed form alone could not give it
 *    back); the stored string is always `rawValue ?? value`;
 *  - createdAt/updatedAt: the dump's capture time (header `source.capturedAt`, else when the batch was
 *    created): when the browser held this state. The same dump migrated again leaves every row unchanged.
 */
import { encodeValue } from '../../../format';
import type { Layout } from '../layout';
import type { Row, SourceEntry, TransformContext, TransformResult } from '../types';

export const GENERIC_KIND = 'entry';
export const BROWSER_ENTRIES = 'browser_entries';

/** The canonical §1c JSON of a key (the same key always gives the same text). */
export function canonicalKey(e: Pick<SourceEntry, 'area' | 'key'>): { json: unknown; text: string } {
  if (e.area !== 'indexedDB') return { json: e.key, text: JSON.stringify(e.key) };
  const json = encodeValue(e.key);
  return { json, text: JSON.stringify(json) };
}

/** What GET /v1/entries?key= matches: a string key itself, any other key its canonical §1c JSON. */
export function keyText(e: Pick<SourceEntry, 'area' | 'key'>): string {
  return typeof e.key === 'string' ? e.key : canonicalKey(e).text;
}

export function entryRowId(ctx: Pick<TransformContext, 'id'>, e: Pick<SourceEntry, 'area' | 'dbName' | 'storeName' | 'key'>): string {
  return ctx.id('browser_entry', e.area, e.dbName ?? '', e.storeName ?? '', canonicalKey(e).text);
}

function parsedJson(s: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(s) };
  } catch {
    return { ok: false };
  }
}

export function transformEntry(e: SourceEntry, ctx: TransformContext): TransformResult {
  const key = canonicalKey(e);
  let value: unknown;
  let rawValue: string | null = null;
  if (e.area === 'indexedDB') value = encodeValue(e.value);
  else if (typeof e.value !== 'string') return { outcome: 'rejected', reason: `a ${e.area} value must be a string, not ${typeof e.value}` };
  else {
    const p = parsedJson(e.value);
    value = p.ok ? p.value : e.value;
    if (p.ok) rawValue = e.value;
  }
  const at = ctx.capturedAt ?? new Date(0);
  const row: Row = {
    id: entryRowId(ctx, e),
    sourceId: [e.area, e.dbName, e.storeName, key.text].filter((p) => p !== null).join('/'),
    area: e.area,
    dbName: e.dbName,
    storeName: e.storeName,
    key: key.json,
    keyText: keyText(e),
    value,
    rawValue,
    createdAt: at,
    updatedAt: at,
  };
  return { rows: { [BROWSER_ENTRIES]: [row] } };
}

export const genericLayout: Layout = {
  name: 'generic',
  kinds: [GENERIC_KIND],
  classify: () => GENERIC_KIND,
  secretKinds: [],
  transforms: { [GENERIC_KIND]: transformEntry },
  groupTransforms: {},
  tables: [BROWSER_ENTRIES],
  phases: [{ name: 'entries', kinds: [GENERIC_KIND] }],
};
