/**
 * A large content-storage entry is mapped and written in slices, one job each (jobs/phases/slices.ts), on the
 * real stack. Against the same dump migrated whole (a second stack whose SLICE_MIN_BYTES is out of reach):
 * the same content_items rows, the same entry outcome and result, the same element rejects with the same
 * paths (a repeated id keeps its first item, wherever the slices fall); the slices ran as jobs of their own;
 * the rollback is exact; a slice that fails for good fails the phase with the reason, and a retry finishes it.
 */
import { CONTENT_TYPES, catalystDump, PNG_1PX, type DumpDoc } from '../fixtures/catalystDump';
import { registry } from '../../core/metrics';
import { SLICE_KEY_HASH } from '../../jobs/phases/slices';
import { PAGE_NODES } from '../../jobs/phases/staged';
import { tableChecksums } from '../helpers/checksums';
import { expectBatchEnds, startStack, TEST_ADMIN_TOKEN, waitForBatch, type Stack } from '../helpers/stack';

let sliced: Stack;
let whole: Stack;
const USER = 'user-slices';
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const ITEMS = 60;
/** Of bigDump's ITEMS + 1 items, six are rejected (see its odd ones). */
const REJECTED = 6;
const MIGRATED = ITEMS + 1 - REJECTED;

beforeAll(async () => {
  // ~5 items per slice: the 60 items (with their odd ones) make about a dozen slices.
  [sliced, whole] = await Promise.all([
    startStack({ config: { SLICE_MIN_BYTES: '1000', SLICE_ELEMENTS: '5' } }),
    startStack({ config: { SLICE_MIN_BYTES: String(1 << 30) } }),
  ]);
  sliced.startWorkers();
  whole.startWorkers();
});
afterAll(() => Promise.all([sliced.close(), whole.close()]));

/** Catalyst's dump whose content-storage holds ITEMS items, with every kind of odd item among them. */
function bigDump(): DumpDoc {
  const doc = catalystDump();
  const types = CONTENT_TYPES.map((t) => t.id);
  const items: unknown[] = Array.from({ length: ITEMS }, (_, i) => ({
    id: `item-${i}`, contentTypeId: types[i % 2], data: { title: `Item ${i}`, n: i },
    createdAt: '2025-08-12T07:13:20.000Z', updatedAt: `2025-08-12T07:${String(i % 60).padStart(2, '0')}:00.000Z`,
  }));
  items[7] = { ...(items[7] as object), data: { title: 'first of item-7' } };
  items.push({ id: 'item-7', contentTypeId: types[0], data: { title: 'second of item-7' }, createdAt: '2025-08-12T07:13:20.000Z', updatedAt: '2025-08-12T07:13:20.000Z' });
  items[12] = { contentTypeId: types[0], data: {}, createdAt: '2025-08-12T07:13:20.000Z', updatedAt: '2025-08-12T07:13:20.000Z' }; // no id
  items[15] = { ...(items[15] as object), contentTypeId: 'no-such-type' }; // its content type is not in the dump
  items[20] = { ...(items[20] as object), data: { hero: `data:image/png;base64,${PNG_1PX}` } };
  items[33] = { ...(items[33] as object), data: { hero: `data:image/png;base64,${PNG_1PX}`, again: true } };
  items[25] = { ...(items[25] as object), createdAt: 'not a date' };
  items[41] = 42; // not an object
  items[44] = { ...(items[44] as object), data: { title: 'lone \ud800 surrogate, written raw in the value' } };
  items[46] = { ...(items[46] as object), createdAt: 'OUT_OF_RANGE' }; // written 1e400 below: Infinity to JSON.parse, null after a JSON.stringify
  const at = doc.localStorage.findIndex((e) => e.key === 'content-storage');
  // JSON.stringify writes a lone surrogate as \ud800; an older browser's wrote it raw, which JSON.parse reads the same.
  const value = JSON.stringify({ state: { contentItems: items, projectId: 'p-9' }, version: 0 }).replace('\\ud800', '\ud800').replace('"OUT_OF_RANGE"', '1e400');
  doc.localStorage[at] = { key: 'content-storage', value };
  return doc;
}

/** Posts the dump (bigDump by default) for `user`; returns its batch id. */
async function upload(stack: Stack, user: string, doc: DumpDoc = bigDump()): Promise<string> {
  const res = await stack.http.post('/v1/dumps').set('Authorization', `Bearer ${await stack.mintToken(user)}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  return res.body.batchId;
}

/** What a batch did with its content-storage entry: outcome, rows, rejects, notes. */
async function report(stack: Stack, batchId: string, user: string) {
  const q = (sql: string, params: unknown[]) => stack.api.deps.ds.query(sql, params);
  const [entry] = await q(`SELECT seq, outcome, reason, result FROM dump_entries WHERE batch_id = $1 AND entry_key = '"content-storage"'`, [batchId]);
  const rejects = await q(`SELECT path, code, reason FROM batch_rejects WHERE batch_id = $1 AND entry_seq = $2 ORDER BY path, code`, [batchId, entry.seq]);
  const rows = await q(
    `SELECT id, source_id, content_type_id, website_id, data, status, created_at, updated_at FROM content_items WHERE user_id = $1 ORDER BY id`, [user],
  );
  const [{ notes }] = await q(`SELECT notes FROM migration_batches WHERE id = $1`, [batchId]);
  return { outcome: entry.outcome, reason: entry.reason, tables: entry.result.tables, rejectCount: entry.result.rejects, slices: entry.result.slices, rejects, rows, projectId: notes.contentStorageProjectId };
}

let slicedBatch: string;

test('a large content-storage is written in slices, exactly as it is written whole', async () => {
  const [a, b] = await Promise.all([upload(sliced, USER), upload(whole, USER)]);
  slicedBatch = a;
  await Promise.all([expectBatchEnds(sliced, a), expectBatchEnds(whole, b)]);
  const [s, w] = await Promise.all([report(sliced, a, USER), report(whole, b, USER)]);
  expect(s.slices).toBeGreaterThanOrEqual(10);
  expect(w.slices).toBeUndefined();
  const { slices: _s, ...same } = s;
  const { slices: _w, ...expected } = w;
  expect(same).toEqual(expected);
  // What the whole mapping says of the odd items, so the comparison above compares something.
  expect(w.outcome).toBe('migrated');
  expect(w.tables).toEqual({ content_items: MIGRATED });
  expect(w.rejects.map((r: { path: string; code: string }) => `${r.path} ${r.code}`).sort()).toEqual([
    'content_items:item-15 missing_reference',
    'state.contentItems[12] missing_id',
    'state.contentItems[25].createdAt invalid_date',
    'state.contentItems[46].createdAt invalid_date',
    'state.contentItems[41] invalid_content_item',
    'state.contentItems[60] duplicate_id',
  ].sort());
  expect(w.rows.find((r: { source_id: string }) => r.source_id === 'item-7').data).toEqual({ title: 'first of item-7' });
  // The lone surrogate is kept (tagged, jobs/write/storable.ts), not turned into U+FFFD on its way through a slice.
  expect(s.rows.find((r: { source_id: string }) => r.source_id === 'item-44').data.title).toEqual({ $t: 'String', utf16le: Buffer.from('lone \ud800 surrogate, written raw in the value', 'utf16le').toString('base64') });
  expect(w.projectId).toBe('p-9');
  // Each slice was a job of its own, and nothing of them is left staged.
  const jobs = await sliced.api.deps.queues.migration.getJobs(['completed']);
  expect(jobs.filter((j) => j.name === 'slice').length).toBe(s.slices);
  expect(await sliced.api.deps.ds.query(`SELECT count(*)::int AS n FROM entry_slices`)).toEqual([{ n: 0 }]);
  // Each slice job's time is in the worker's metrics (bsm_slice_duration_seconds).
  const metric = await registry.getSingleMetric('bsm_slice_duration_seconds')!.get();
  const completed = (metric.values as { metricName?: string; labels: Record<string, unknown>; value: number }[])
    .find((v) => v.metricName === 'bsm_slice_duration_seconds_count' && v.labels.phase === 'contentItems' && v.labels.outcome === 'completed');
  expect(completed?.value).toBeGreaterThanOrEqual(s.slices);
  const [{ status }] = await sliced.api.deps.ds.query(`SELECT verification->>'ok' AS status FROM migration_batches WHERE id = $1`, [a]);
  expect(status).toBe('true');
});

test('a large content-storage with too few items to slice, or without an item list, is applied whole, as the whole mapping does', async () => {
  const types = CONTENT_TYPES.map((t) => t.id);
  const few = { state: { contentItems: Array.from({ length: 4 }, (_, i) => ({ id: `few-${i}`, contentTypeId: types[0], data: { body: 'x'.repeat(400) }, createdAt: '2025-08-12T07:13:20.000Z', updatedAt: '2025-08-12T07:13:20.000Z' })) }, version: 0 };
  const shapeless = { state: { items: 'y'.repeat(2000) }, version: 0 }; // over SLICE_MIN_BYTES, no contentItems list
  for (const [user, value] of [['user-slices-few', few], ['user-slices-shapeless', shapeless]] as const) {
    const doc = catalystDump();
    const at = doc.localStorage.findIndex((e) => e.key === 'content-storage');
    doc.localStorage[at] = { key: 'content-storage', value: JSON.stringify(value) };
    const post = async (stack: Stack) => {
      const batchId = await upload(stack, user, doc);
      await waitForBatch(stack, batchId);
      return report(stack, batchId, user);
    };
    const [s, w] = await Promise.all([post(sliced), post(whole)]);
    expect(s.slices).toBeUndefined(); // not split: applied by the phase job itself
    expect(s).toEqual(w);
    // What the whole mapping says, so the comparison compares something.
    if (value === few) expect(w).toMatchObject({ outcome: 'migrated', tables: { content_items: 4 } });
    else expect(w).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('neither') });
  }
});

test('a value the outline declines (its state member written twice) is split from its parsed value, with the same result', async () => {
  // JSON.parse keeps the second state; format/jsonOutline.ts does not follow repeats on the way to the list.
  const user = 'user-slices-twice';
  const doc = bigDump();
  const at = doc.localStorage.findIndex((e) => e.key === 'content-storage');
  const text = doc.localStorage[at].value as string;
  doc.localStorage[at] = { key: 'content-storage', value: `{"state":{"contentItems":[{"id":"decoy"}]},${text.slice(1)}` };
  const post = async (stack: Stack) => {
    const batchId = await upload(stack, user, doc);
    await expectBatchEnds(stack, batchId);
    return report(stack, batchId, user);
  };
  const [s, w] = await Promise.all([post(sliced), post(whole)]);
  expect(s.slices).toBeGreaterThanOrEqual(10);
  const { slices: _s, ...same } = s;
  const { slices: _w, ...expected } = w;
  expect(same).toEqual(expected);
  expect(w).toMatchObject({ outcome: 'migrated', tables: { content_items: MIGRATED } });
  expect(w.rows.some((r: { source_id: string }) => r.source_id === 'decoy')).toBe(false);
});

test('items holding many values are spread over more slices: each holds about one page of values (PAGE_NODES) at most', async () => {
  const types = CONTENT_TYPES.map((t) => t.id);
  // 6 items of ~100,000 values each: 2 slices by count (SLICE_ELEMENTS = 5 here), 3 by values.
  const heavy = { state: { contentItems: Array.from({ length: 6 }, (_, i) => ({ id: `heavy-${i}`, contentTypeId: types[0], data: { list: Array.from({ length: 100_000 }, () => 0) }, createdAt: '2025-08-12T07:13:20.000Z', updatedAt: '2025-08-12T07:13:20.000Z' })) }, version: 0 };
  const doc = catalystDump();
  const at = doc.localStorage.findIndex((e) => e.key === 'content-storage');
  doc.localStorage[at] = { key: 'content-storage', value: JSON.stringify(heavy) };
  const res = await sliced.http.post('/v1/dumps').set('Authorization', `Bearer ${await sliced.mintToken('user-slices-heavy')}`).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  await expectBatchEnds(sliced, res.body.batchId);
  const r = await report(sliced, res.body.batchId, 'user-slices-heavy');
  expect(r).toMatchObject({ outcome: 'migrated', tables: { content_items: 6 }, slices: Math.ceil((6 * 100_000) / PAGE_NODES) });
});

test('the rollback of a sliced batch is exact', async () => {
  const res = await sliced.http.post(`/v1/admin/batches/${slicedBatch}/rollback`).set(admin).send({});
  expect(res.status).toBe(202);
  expect(await waitForBatch(sliced, slicedBatch, ['rolled_back', 'failed'])).toBe('rolled_back');
  const empty = await tableChecksums(sliced.api.deps.ds, 'nobody-at-all');
  expect(await tableChecksums(sliced.api.deps.ds, USER)).toEqual(empty);
});

test('a slice that fails for good fails the phase with its reason; a retry queues it again and the batch completes', async () => {
  const ds = sliced.api.deps.ds;
  const user = 'user-slices-fault';
  // Slice 3 cannot be recorded as done: every attempt of its job fails (the test stack tries 3 times).
  await ds.query(`CREATE FUNCTION slice_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected slice fault'; END $$`);
  await ds.query(`CREATE TRIGGER slice_fault BEFORE UPDATE ON entry_slices FOR EACH ROW WHEN (NEW.slice = 3 AND NEW.status = 'done') EXECUTE FUNCTION slice_fault()`);
  const batchId = await upload(sliced, user);
  expect(await waitForBatch(sliced, batchId, ['completed', 'needs_attention', 'failed'], 60_000)).toBe('failed');
  const [b] = await ds.query(`SELECT error FROM migration_batches WHERE id = $1`, [batchId]);
  expect(b.error).toMatchObject({ phase: 'contentItems' });
  expect(b.error.message).toMatch(/slice 3 of entry #\d+ failed: injected slice fault/);
  const [slice] = await ds.query(`SELECT status, generation FROM entry_slices WHERE batch_id = $1 AND slice = 3`, [batchId]);
  expect(slice).toEqual({ status: 'failed', generation: 1 });
  // While its slices ran, the phase's progress counted the entry's elements: all of them, not all done.
  const [progress] = await ds.query(`SELECT done, total FROM migration_phases WHERE batch_id = $1 AND name = 'contentItems'`, [batchId]);
  expect(progress.total).toBe(ITEMS + 1);
  expect(progress.done).toBeLessThan(ITEMS + 1);
  // The other slices' rows are written (and journaled): the retry writes only what is missing.
  await ds.query(`DROP TRIGGER slice_fault ON entry_slices`);
  const retry = await sliced.http.post(`/v1/admin/batches/${batchId}/retry`).set(admin).send({});
  expect(retry.status).toBe(202);
  await expectBatchEnds(sliced, batchId);
  const r = await report(sliced, batchId, user);
  expect(r).toMatchObject({ outcome: 'migrated', tables: { content_items: MIGRATED }, rejectCount: REJECTED });
  expect(r.rejects).toHaveLength(REJECTED);
  expect(await ds.query(`SELECT count(*)::int AS n FROM entry_slices WHERE batch_id = $1`, [batchId])).toEqual([{ n: 0 }]);
});

test('a split cut short (the phase failed half-way through staging its slices) is completed with the same partition on the next attempt', async () => {
  const ds = sliced.api.deps.ds;
  const user = 'user-slices-cut';
  // Staging slice 2 fails once: slices 0 and 1 are staged (and queued) already, and the phase's attempt fails.
  // (A sequence counts the calls: its nextval survives the failed statement's rollback.)
  await ds.query(`CREATE SEQUENCE slice_fault_calls`);
  await ds.query(`CREATE FUNCTION slice_fault_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF nextval('slice_fault_calls') = 1 THEN RAISE EXCEPTION 'injected split fault'; END IF; RETURN NEW; END $$`);
  await ds.query(`CREATE TRIGGER slice_fault_once BEFORE INSERT ON entry_slices FOR EACH ROW WHEN (NEW.slice = 2) EXECUTE FUNCTION slice_fault_once()`);
  // Every slice staged, with the key hash that spread it (both attempts: slices settle and go away).
  await ds.query(`CREATE TABLE slice_key_hashes (slice int, key_hash smallint)`);
  await ds.query(`CREATE FUNCTION slice_key_hash_seen() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO slice_key_hashes VALUES (NEW.slice, NEW.key_hash); RETURN NEW; END $$`);
  await ds.query(`CREATE TRIGGER slice_key_hash_seen AFTER INSERT ON entry_slices FOR EACH ROW EXECUTE FUNCTION slice_key_hash_seen()`);
  try {
    const [a, b] = await Promise.all([upload(sliced, user), upload(whole, user)]);
    await Promise.all([expectBatchEnds(sliced, a), expectBatchEnds(whole, b)]);
    const [phase] = await ds.query(`SELECT attempts, error FROM migration_phases WHERE batch_id = $1 AND name = 'contentItems'`, [a]);
    expect(phase.attempts).toBe(2); // the cut-short attempt, then the one that finished the split
    const [s, w] = await Promise.all([report(sliced, a, user), report(whole, b, user)]);
    const { slices, ...same } = s;
    const { slices: _w, ...expected } = w;
    expect(slices).toBeGreaterThanOrEqual(10);
    expect(same).toEqual(expected);
    // Slices 0 and 1 staged once by the cut-short attempt, the rest by the next, all with today's key hash
    // (the completion reads it from the slices already staged: entry_slices.key_hash).
    const seen: { slice: number; key_hash: number }[] = await ds.query(`SELECT slice, key_hash FROM slice_key_hashes ORDER BY slice`);
    expect(seen.map((r) => r.slice)).toEqual(Array.from({ length: slices }, (_, i) => i));
    expect(new Set(seen.map((r) => r.key_hash))).toEqual(new Set([SLICE_KEY_HASH]));
  } finally {
    await ds.query(`DROP TRIGGER IF EXISTS slice_fault_once ON entry_slices`);
    await ds.query(`DROP TRIGGER IF EXISTS slice_key_hash_seen ON entry_slices`);
  }
});

test('a split cut short by a newer version (a key hash this worker does not know) fails the phase with the reason instead of finishing it with another partition', async () => {
  const ds = sliced.api.deps.ds;
  // Every slice is staged as if by a version whose key hash is 99; staging slice 2 fails once, so the
  // phase's next attempt finds slices 0 and 1 split by that hash and must not add slices by its own.
  await ds.query(`CREATE SEQUENCE slice_newer_calls`);
  await ds.query(`CREATE FUNCTION slice_newer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.key_hash := 99;
      IF NEW.slice = 2 AND nextval('slice_newer_calls') = 1 THEN RAISE EXCEPTION 'injected split fault'; END IF;
      RETURN NEW;
    END $$`);
  await ds.query(`CREATE TRIGGER slice_newer BEFORE INSERT ON entry_slices FOR EACH ROW EXECUTE FUNCTION slice_newer()`);
  try {
    const batchId = await upload(sliced, 'user-slices-newer');
    expect(await waitForBatch(sliced, batchId, ['completed', 'needs_attention', 'failed'], 60_000)).toBe('failed');
    const [b] = await ds.query(`SELECT error FROM migration_batches WHERE id = $1`, [batchId]);
    expect(b.error).toMatchObject({ phase: 'contentItems' });
    expect(b.error.message).toMatch(/entry #\d+ was split by key hash 99, which this worker does not know \(a newer version split it\)/);
    const staged: { slice: number }[] = await ds.query(`SELECT slice FROM entry_slices WHERE batch_id = $1 ORDER BY slice`, [batchId]);
    expect(staged.map((r) => r.slice)).toEqual([0, 1]);
  } finally {
    await ds.query(`DROP TRIGGER IF EXISTS slice_newer ON entry_slices`);
  }
});

test('verification counts every row of a sliced batch once, across its id ranges, and names what changed behind its back', async () => {
  const ds = sliced.api.deps.ds;
  const [b] = await ds.query(`SELECT id, verification FROM migration_batches WHERE user_id = 'user-slices-cut'`);
  expect(b.verification.tables.content_items).toEqual({ expected: MIGRATED, present: MIGRATED, changed: 0, missing: 0 });
  // Rows spread over the whole id space (verify.ts counts it in ranges): three changed, one gone.
  const rows: { id: string }[] = await ds.query(`SELECT id FROM content_items WHERE batch_id = $1 ORDER BY id`, [b.id]);
  const picks = [rows[0], rows[Math.floor(rows.length / 2)], rows[rows.length - 1]].map((r) => r.id);
  await ds.query(`UPDATE content_items SET data = '{"edited": true}' WHERE id = ANY($1::uuid[])`, [picks]);
  await ds.query(`DELETE FROM content_items WHERE id = $1`, [rows[10].id]);
  const res = await sliced.http.post(`/v1/admin/batches/${b.id}/verify`).set(admin).send({});
  expect(res.status).toBeLessThan(300);
  const [after] = await ds.query(`SELECT status, verification FROM migration_batches WHERE id = $1`, [b.id]);
  expect(after.status).toBe('needs_attention');
  expect(after.verification.tables.content_items).toEqual({ expected: MIGRATED, present: MIGRATED - 1, changed: 3, missing: 1 });
});
