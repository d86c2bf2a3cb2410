/**
 * The browser uploader's `layout` option, in real Chromium: migrate({layout: 'generic'}) sends it as tus
 * metadata, and the page's storage (web storage and IndexedDB with a number, an array and a Date key) lands
 * one browser_entries row per entry; an unknown layout rejects with the API's unknown_layout, nothing stored.
 */
import type { MigrationResult } from '../../client/types';
import { loadUploader, openUploaderPage, useStackAndBrowser } from './helpers/browser';
import { fillStorage, type StorageSpec } from './helpers/pageStorage';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const bsm: { migrate(o: unknown): Promise<MigrationResult> };

jest.setTimeout(60000);

const env = useStackAndBrowser();

const spec: StorageSpec = {
  localStorage: [{ key: 'theme', value: '{"dark":true}' }, { key: 'name', value: 'Ada' }],
  sessionStorage: [{ key: 'tab', value: '3' }],
  indexedDB: [{
    name: 'notes', version: 2,
    stores: [{ name: 'byKey', keyPath: null, records: [
      { key: 7, value: { text: 'seven' } },
      { key: ['a', 1], value: 'array key' },
      { key: { $t: 'Date', v: '2026-03-04T05:06:07.000Z' }, value: { when: { $t: 'Date', v: '2026-03-04T05:06:07.000Z' } } },
    ] }],
  }],
};

test('migrate({layout: "generic"}) keeps every entry as one row; an unknown layout is refused', async () => {
  const { page, errors } = await openUploaderPage(env.browser, env.stack.api.url);
  await fillStorage(page, spec);
  await loadUploader(page);
  const user = 'browser-generic';
  const token = await env.stack.mintToken(user);
  const result = await page.evaluate((o) => bsm.migrate(o), { token, layout: 'generic', pollIntervalMs: 50 });
  expect(errors).toEqual([]);
  expect(result.status).toBe('completed');
  const q = (sql: string, p: unknown[]) => env.stack.api.deps.ds.query(sql, p);
  expect((await q(`SELECT layout FROM migration_batches WHERE id = $1`, [result.batchId]))[0].layout).toBe('generic');
  const rows: { area: string; key_text: string; value: unknown }[] = await q(`SELECT area, key_text, value FROM browser_entries WHERE user_id = $1`, [user]);
  const byPlace = (a: { area: string; key_text: string }, b: { area: string; key_text: string }) => (`${a.area}\u0001${a.key_text}` < `${b.area}\u0001${b.key_text}` ? -1 : 1);
  expect(rows.sort(byPlace)).toEqual([
    { area: 'indexedDB', key_text: '7', value: { text: 'seven' } },
    { area: 'indexedDB', key_text: '["a",1]', value: 'array key' },
    { area: 'indexedDB', key_text: '{"$t":"Date","v":"2026-03-04T05:06:07.000Z"}', value: { when: { $t: 'Date', v: '2026-03-04T05:06:07.000Z' } } },
    { area: 'localStorage', key_text: 'name', value: 'Ada' },
    { area: 'localStorage', key_text: 'theme', value: { dark: true } },
    { area: 'sessionStorage', key_text: 'tab', value: 3 },
  ].sort(byPlace));

  const other = await env.stack.mintToken('browser-bad-layout');
  const outcome = await page.evaluate((o) => bsm.migrate(o).then(() => null, (e: any) => ({ status: e.status, code: e.code })), { token: other, layout: 'nope', pollIntervalMs: 50 });
  expect(outcome).toEqual({ status: 400, code: 'unknown_layout' });
  expect(await q(`SELECT id FROM migration_batches WHERE user_id = $1`, ['browser-bad-layout'])).toEqual([]);
});
