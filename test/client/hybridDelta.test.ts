/**
 * The pure parts of the hybrid client, in Node: the delta against a watermark digested the way the
 * server digests it (Node's crypto over JSON.stringify of the value the NDJSON line carries), the merge
 * patch a preference write sends, and Retry-After parsing.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { validateDump } from '../../format';
import { buildDelta, type WatermarkEntry } from '../../client/hybrid/delta';
import { canonical, mergeDiff, parseRetryAfter } from '../../client/hybrid/pure';
import type { Dump, RecordDump } from '../../client/types';

const dump = (local: Record<string, string>, records: RecordDump[]): Dump => ({
  format: 'browser-storage-dump', version: 1, source: { capturedAt: '2026-11-29T10:00:00.000Z' },
  localStorage: Object.entries(local).map(([key, value]) => ({ key, value })),
  sessionStorage: [{ key: 'ai_prompt_x', value: '{"original":"hi"}' }],
  indexedDB: [{ name: 'website_x_content', version: 1, stores: [{ name: 'data', keyPath: 'id', autoIncrement: false, indexes: [], records }] }],
});

/** What GET /v1/batches/:id/entries answers for a dump (keys and values through JSON, as staged). */
function watermarkOf(d: Dump, sealed: string[] = []): WatermarkEntry[] {
  const sha = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex');
  const out: WatermarkEntry[] = [];
  for (const area of ['localStorage', 'sessionStorage'] as const) {
    for (const e of d[area]) out.push({ area, db: null, store: null, key: e.key, sha256: sealed.includes(e.key) ? null : sha(e.value) });
  }
  for (const db of d.indexedDB) for (const s of db.stores) for (const r of s.records) {
    out.push({ area: 'indexedDB', db: db.name, store: s.name, key: JSON.parse(JSON.stringify(r.key)), sha256: sha(JSON.parse(JSON.stringify(r.value))) });
  }
  return out;
}

const lines = async (b: Blob) => (await b.text()).trimEnd().split('\n').map((l) => JSON.parse(l));

const base = dump(
  { contentTypes: '[]', 'content-storage': '{"state":{"contentItems":[],"projectId":"default"},"version":0}', 'project-context': '{\n  "a": 1\n}', 'cms-provider-configs': '{"x":{"config":{"apiKey":"k"}}}' },
  [{ key: 'main', value: { id: 'main', pages: [{ at: { $t: 'Date', v: '2025-08-12T07:00:40.000Z' } }] } }, { key: { $t: 'Date', v: '2025-01-01T00:00:00.000Z' }, value: 'dated' }],
);

test('an unchanged snapshot gives an empty delta (header and a zero trailer)', async () => {
  const d = buildDelta(base, watermarkOf(base));
  expect(d).toMatchObject({ changed: 0, added: 0, removed: 0, unchanged: 7, entries: 0 });
  const [header, trailer, ...rest] = await lines(d.file);
  expect(header).toMatchObject({ format: 'browser-storage-dump', version: 1, source: { capturedAt: '2026-11-29T10:00:00.000Z' } });
  expect(trailer).toEqual({ end: true, entries: 0 });
  expect(rest).toEqual([]);
});

test('changed and added entries go in full, removed ones as op:delete, sealed ones always', async () => {
  const next = dump(
    { contentTypes: '[{"id":"t"}]', 'content-storage': '{"state":{"contentItems":[],"projectId":"default"},"version":0}', 'cms-provider-configs': '{"x":{"config":{"apiKey":"k"}}}', 'catalyst-navigation-state': '{}' },
    [{ key: 'main', value: { id: 'main', pages: [{ at: { $t: 'Date', v: '2025-08-12T07:00:40.000Z' } }] } }],
  );
  const d = buildDelta(next, watermarkOf(base, ['cms-provider-configs']));
  expect(d).toMatchObject({ changed: 2, added: 1, removed: 2, unchanged: 3, entries: 5 });
  const all = await lines(d.file);
  expect(all.at(-1)).toEqual({ end: true, entries: 5 });
  // The server's own reader accepts it as a delta (and would refuse it as a dump: it has removals).
  const bytes = Buffer.from(await d.file.arrayBuffer());
  const { counts } = await validateDump(Readable.from([bytes]), 'ndjson', { delta: true });
  expect(counts).toMatchObject({ total: 5, removals: 2 });
  await expect(validateDump(Readable.from([bytes]), 'ndjson')).rejects.toMatchObject({ code: 'dump_removal_outside_delta' });
  // Changes in dump order, then the removals.
  expect(all.slice(1, -1)).toEqual([
    { area: 'localStorage', key: 'contentTypes', value: '[{"id":"t"}]' },
    { area: 'localStorage', key: 'cms-provider-configs', value: '{"x":{"config":{"apiKey":"k"}}}' }, // sealed: digest unknown, re-sent
    { area: 'localStorage', key: 'catalyst-navigation-state', value: '{}' },
    { op: 'delete', area: 'localStorage', key: 'project-context' },
    { op: 'delete', area: 'indexedDB', db: 'website_x_content', store: 'data', key: { $t: 'Date', v: '2025-01-01T00:00:00.000Z' } },
  ]);
});

test('references match whatever order the server puts an encoded key\'s fields in', () => {
  const w = watermarkOf(base).map((e) => (typeof e.key === 'object' ? { ...e, key: { v: (e.key as { v: string }).v, $t: 'Date' } } : e));
  expect(buildDelta(base, w)).toMatchObject({ removed: 0, added: 0, entries: 0 });
});

test('mergeDiff: the RFC 7386 patch from the stored section to the new one', () => {
  const from = { a: 1, b: { c: 2, d: 3 }, e: [1, 2], gone: true };
  const to = { a: 1, b: { c: 2, d: 4, n: 5 }, e: [1], added: 'x' };
  const patch = mergeDiff(from, to);
  expect(patch).toEqual({ gone: null, b: { d: 4, n: 5 }, e: [1], added: 'x' });
  // Applying it (RFC 7386 §2) gives `to`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a merge patch applies to any JSON value
  const apply = (t: any, p: any): any => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return p;
    const out = typeof t === 'object' && t && !Array.isArray(t) ? { ...t } : {};
    for (const [k, v] of Object.entries(p)) { if (v === null) delete out[k]; else out[k] = apply(out[k], v); }
    return out;
  };
  expect(canonical(apply(from, patch))).toBe(canonical(to));
});

test('Retry-After: seconds or an HTTP date', () => {
  expect(parseRetryAfter('3')).toBe(3000);
  expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(10000);
  expect(parseRetryAfter(null)).toBeNull();
  expect(parseRetryAfter('soon')).toBeNull();
});
