/**
 * Group phases are paged by bucket (GroupTransformSpec.bucketOf), so they no longer load every entry of
 * their kinds at once. A bucket's entries must still meet on one page: here each website's metadata record
 * and config section, and each chat session's chat and metadata records, lie at opposite ends of a dump
 * whose groups need several pages. Had a page split a bucket, the later page would overwrite the row
 * with only its half (rows are upserted whole).
 */
import { startStack, waitForBatch, type Stack } from '../helpers/stack';

const USER = 'group-paging';
const N = 250; // 500 website-group entries and 500 chat entries: several pages of at most 200 each

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 60_000);
afterAll(() => stack.close());

function dump(): string {
  const site = (i: number) => `website_${1754981234567 + i}_pg${i}`;
  const idb = (db: string, store: string, keyPath: string | null, key: unknown, value: unknown) =>
    ({ area: 'indexedDB', db, dbVersion: 1, store, keyPath, key, value });
  const lines: unknown[] = [{ format: 'browser-storage-dump', version: 1, source: { capturedAt: '2026-11-28T10:00:00.000Z' } }];
  for (let i = 0; i < N; i++) {
    lines.push(idb('catalyst_global', 'websites', 'id', site(i), { id: site(i), name: `Site ${i}`, createdAt: { $t: 'Date', v: '2025-08-12T07:00:00.000Z' } }));
  }
  for (let i = 0; i < N; i++) {
    const chat = { messages: [{ id: `m${i}`, role: 'user', content: `hello ${i}`, timestamp: '2025-08-12T08:00:00.000Z' }], timestamp: '2025-08-12T08:00:01.000Z', version: '1.0.0', metadata: { sessionId: `s${i}` } };
    lines.push(idb('catalyst-studio', 'persistence', null, `catalyst:chat:s${i}`, JSON.stringify(chat)));
  }
  for (let i = 0; i < N; i++) lines.push(idb(`website_${site(i)}_config`, 'data', 'id', 'main', { id: 'main', theme: { primary: `#${String(i).padStart(6, '0')}` } }));
  for (let i = 0; i < N; i++) {
    lines.push(idb('catalyst-studio', 'persistence', null, `catalyst:metadata:s${i}`, JSON.stringify({ version: '1.0.0', lastSaved: '2025-08-12T08:00:01.000Z', saveCount: i })));
  }
  lines.push({ end: true, entries: lines.length - 1 });
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

test('a bucket split across the dump still meets on one page: whole websites and chat sessions', async () => {
  const token = await stack.mintToken(USER);
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/x-ndjson').send(dump());
  expect(res.status).toBe(202);
  expect(await waitForBatch(stack, res.body.batchId, undefined, 60_000)).toBe('completed');
  const q = (sql: string) => stack.api.deps.ds.query(sql, [USER]).then((r: { n: number }[]) => r[0].n);
  expect(await q(`SELECT count(*)::int AS n FROM websites WHERE user_id = $1`)).toBe(N);
  // Both halves in every row: the name from the metadata record, the theme from the config section.
  expect(await q(`SELECT count(*)::int AS n FROM websites WHERE user_id = $1 AND name LIKE 'Site %' AND metadata ? 'theme'`)).toBe(N);
  expect(await q(`SELECT count(*)::int AS n FROM chat_sessions WHERE user_id = $1 AND storage_metadata IS NOT NULL AND saved_at IS NOT NULL`)).toBe(N);
  expect(await q(`SELECT count(*)::int AS n FROM chat_messages WHERE user_id = $1`)).toBe(N);
});
