/**
 * The layout seam without services: the generic layout's pure transform (ids, keys, lossless values), the
 * registry (phase lists, tables, unknown names), and the rule that the pipeline reaches a layout's code
 * only through the registry (the lint rule `only-the-registry-imports-layouts` is the real guard; this
 * reads the imports itself so `npm run test:unit` says it too).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { decodeValue } from '../../format';
import { ALL_TABLES, LAYOUTS, layoutFor, phasesOf } from '../../jobs/layouts';
import { genericLayout, transformEntry } from '../../jobs/transforms/generic';
import type { Row, SourceEntry } from '../../jobs/transforms/types';
import { makeCtx } from './fixtures';

const { ctx } = makeCtx();
const at = new Date('2026-11-28T10:00:00.000Z');
const gctx = { ...ctx, capturedAt: at };
const idb = (key: unknown, value: unknown, store = 'items'): SourceEntry => ({ seq: 1, area: 'indexedDB', dbName: 'app', storeName: store, key: decodeValue(key), value: decodeValue(value) });
const kv = (key: string, value: string, area: 'localStorage' | 'sessionStorage' = 'localStorage'): SourceEntry => ({ seq: 1, area, dbName: null, storeName: null, key, value });
const row = (e: SourceEntry): Row => {
  const r = transformEntry(e, gctx);
  expect(r.outcome).toBeUndefined(); // migrated: one row
  expect(Object.keys(r.rows ?? {})).toEqual(['browser_entries']);
  expect(r.rows!.browser_entries).toHaveLength(1);
  return r.rows!.browser_entries![0];
};

describe('the generic layout', () => {
  test('classifies every entry as one kind, taken by its one phase', () => {
    expect(genericLayout.classify({ area: 'indexedDB', dbName: 'catalyst_global', storeName: 'websites', key: 'x' })).toBe('entry');
    expect(genericLayout.classify({ area: 'localStorage', dbName: null, storeName: null, key: 'contentTypes' })).toBe('entry');
    expect(genericLayout.phases).toEqual([{ name: 'entries', kinds: ['entry'] }]);
    expect(genericLayout.secretKinds).toEqual([]);
  });

  test('ids: deterministic per user, area, database, store and key; 1 and "1" are two rows', () => {
    const one = row(idb(1, 'a'));
    expect(row(idb(1, 'another value')).id).toBe(one.id);
    expect(row(idb('1', 'a')).id).not.toBe(one.id);
    expect(row(idb(1, 'a', 'other')).id).not.toBe(one.id);
    expect(row(kv('1', 'a')).id).not.toBe(row(kv('1', 'a', 'sessionStorage')).id);
    expect(transformEntry(idb(1, 'a'), { ...gctx, id: makeCtx().ctx.id }).rows!.browser_entries![0].id).toBe(one.id);
  });

  test('keys: web storage and IndexedDB string keys as themselves, others as their canonical §1c JSON', () => {
    expect(row(idb('k', 1))).toMatchObject({ key: 'k', keyText: 'k' });
    expect(row(idb(1, 1))).toMatchObject({ key: 1, keyText: '1' });
    expect(row(idb([1, 'a', [2]], 1))).toMatchObject({ key: [1, 'a', [2]], keyText: '[1,"a",[2]]' });
    const date = { $t: 'Date', v: '2026-01-02T03:04:05.000Z' };
    expect(row(idb(date, 1))).toMatchObject({ key: date, keyText: JSON.stringify(date) });
    const bin = { $t: 'ArrayBuffer', b64: 'AAEC' };
    expect(row(idb(bin, 1))).toMatchObject({ key: bin, keyText: JSON.stringify(bin) });
    expect(row(idb([date, bin], 1)).keyText).toBe(JSON.stringify([date, bin]));
  });

  test('values: IndexedDB in §1c form; web storage parsed when JSON, the stored string kept exactly', () => {
    const v = { at: { $t: 'Date', v: '2025-05-05T05:05:05.000Z' }, bytes: { $t: 'Uint8Array', b64: 'AQID' }, big: { $t: 'bigint', v: '12345678901234567890' } };
    expect(row(idb('k', v))).toMatchObject({ value: v, rawValue: null, area: 'indexedDB', dbName: 'app', storeName: 'items', createdAt: at, updatedAt: at });
    expect(row(kv('s', '{"a": 1.0, "b": [true]}'))).toMatchObject({ value: { a: 1, b: [true] }, rawValue: '{"a": 1.0, "b": [true]}', dbName: null, storeName: null });
    expect(row(kv('big', '12345678901234567890'))).toMatchObject({ rawValue: '12345678901234567890' });
    expect(row(kv('s', 'plain text'))).toMatchObject({ value: 'plain text', rawValue: null });
    expect(row(kv('s', ''))).toMatchObject({ value: '', rawValue: null });
    expect(row(kv('s', 'null'))).toMatchObject({ value: null, rawValue: 'null' });
  });
});

describe('the layout registry', () => {
  test('Catalyst keeps its phase names and order; the generic layout has its own', () => {
    expect(phasesOf('catalyst')).toEqual([
      'ingest', 'websites', 'contentTypes', 'contentItems', 'websiteStorage', 'aiData', 'userPreferences', 'deploymentConfigs', 'deploymentHistory', 'preserve', 'prune', 'verify',
    ]);
    expect(phasesOf('generic')).toEqual(['ingest', 'entries', 'preserve', 'prune', 'verify']);
    expect(typeof LAYOUTS.catalyst.handlers?.websites).toBe('function');
  });

  test('tables: each layout parents first, preserved_entries last', () => {
    expect(ALL_TABLES[0]).toBe('websites');
    expect(ALL_TABLES).toContain('browser_entries');
    expect(ALL_TABLES[ALL_TABLES.length - 1]).toBe('preserved_entries');
    expect(ALL_TABLES.indexOf('content_types')).toBeLessThan(ALL_TABLES.indexOf('content_items'));
  });

  test('an unknown name is a 400 unknown_layout naming the known ones', () => {
    expect(() => layoutFor('wordpress')).toThrow(expect.objectContaining({ status: 400, code: 'unknown_layout', message: expect.stringContaining('catalyst, generic') }));
    expect(() => layoutFor('constructor')).toThrow(expect.objectContaining({ code: 'unknown_layout' }));
  });
});

describe('the pipeline imports no layout but through the registry', () => {
  const root = join(__dirname, '../..');
  const LAYOUT_CODE = /^jobs\/(transforms|phases)\/(catalyst|generic)\//;
  const ALLOWED_FROM = [/^jobs\/layouts\.ts$/, LAYOUT_CODE, /^api\/data\/resources\//];
  function files(dir: string): string[] {
    return readdirSync(join(root, dir)).flatMap((f) => {
      const p = join(dir, f);
      return statSync(join(root, p)).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
    });
  }

  test('jobs/, worker/, api/, dashboard/, core/: no import of jobs/transforms/<layout>/ or jobs/phases/<layout>/', () => {
    const offenders: string[] = [];
    let scanned = 0;
    for (const file of ['jobs', 'worker', 'api', 'dashboard', 'core'].flatMap(files)) {
      if (ALLOWED_FROM.some((r) => r.test(file))) continue;
      scanned++;
      const src = readFileSync(join(root, file), 'utf8');
      for (const m of src.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        if (!m[1].startsWith('.')) continue;
        const target = relative(root, join(root, file, '..', m[1]));
        if (LAYOUT_CODE.test(`${target}/`) || LAYOUT_CODE.test(target)) offenders.push(`${file} → ${m[1]}`);
      }
    }
    expect(scanned).toBeGreaterThan(50);
    expect(offenders).toEqual([]);
  });

  test('the scan sees an import when there is one', () => {
    const target = relative(root, join(root, 'jobs/layouts.ts', '..', './transforms/catalyst'));
    expect(LAYOUT_CODE.test(`${target}/`)).toBe(true);
  });
});
