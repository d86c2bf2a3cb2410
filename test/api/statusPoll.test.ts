/**
 * A status poll of a batch in flight answers from the batch's last row count (at most about a second old,
 * `report.rowsAsOf`) and counts again in the background, so polls stay cheap while a worker writes a large
 * journal; the report endpoint counts exactly; a status change never reads counts taken before it.
 * The workers are off: the batch stays `queued`, and its "progress" is written here, as a worker would.
 */
import { randomUUID } from 'node:crypto';
import { catalystDump } from '../fixtures/catalystDump';
import { LIVE_COUNTS_MAX_AGE_MS, LIVE_COUNTS_MAX_STALE_MS, liveCountsMaxAge } from '../../api/handlers/getBatch';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let auth: { Authorization: string };

beforeAll(async () => {
  stack = await startStack({ workers: false });
  auth = { Authorization: `Bearer ${await stack.mintToken('user-poll')}` };
});
afterAll(() => stack.close());

const poll = async (id: string) => {
  const res = await stack.http.get(`/v1/batches/${id}`).set(auth);
  expect(res.status).toBe(200);
  return res.body as { status: string; report: { rows: Record<string, number>; changes: Record<string, { inserted: number }>; rowsAsOf: string | null } };
};

/** A worker's write: one content item expected and journaled as inserted. */
async function writeRow(batchId: string): Promise<void> {
  const rowId = randomUUID();
  await stack.api.deps.ds.query(`INSERT INTO batch_rows (batch_id, table_name, row_id, phase, checksum) VALUES ($1, 'content_items', $2, 'contentItems', repeat('0', 32))`, [batchId, rowId]);
  await stack.api.deps.ds.query(`INSERT INTO row_journal (batch_id, phase, table_name, row_id, op) VALUES ($1, 'contentItems', 'content_items', $2, 'insert')`, [batchId, rowId]);
}

test('polls of a batch in flight share a count at most a second old; the report counts now', async () => {
  const posted = await stack.http.post('/v1/dumps').set(auth).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
  expect(posted.status).toBe(202);
  const id = posted.body.batchId as string;

  const first = await poll(id);
  expect(first.status).toBe('queued');
  expect(first.report.rows).toEqual({});
  expect(first.report.rowsAsOf).not.toBeNull();

  await writeRow(id);
  // Within the max age: the same count, not a new one.
  const t0 = Date.parse(first.report.rowsAsOf!);
  const again = await poll(id);
  if (Date.now() - t0 < LIVE_COUNTS_MAX_AGE_MS) {
    expect(again.report.rowsAsOf).toBe(first.report.rowsAsOf);
    expect(again.report.rows).toEqual({});
  }
  // The report endpoint is exact at once.
  const report = await stack.http.get(`/v1/batches/${id}/report`).set(auth);
  expect(report.status).toBe(200);
  expect(report.body.changes).toEqual({ content_items: { inserted: 1, updated: 0, deleted: 0 } });

  // Later polls see the row: once the count is older than the max age, a poll starts a new one.
  let seen = again;
  const deadline = Date.now() + 10_000;
  while (seen.report.rows.content_items !== 1 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await poll(id);
  }
  expect(seen.report.rows).toEqual({ content_items: 1 });
  expect(seen.report.changes).toEqual({ content_items: { inserted: 1, updated: 0, deleted: 0 } });
  expect(Date.parse(seen.report.rowsAsOf!)).toBeGreaterThan(t0);
  // Never older than the max age plus the time one count takes (generously bounded on a loaded machine).
  expect(Date.now() - Date.parse(seen.report.rowsAsOf!)).toBeLessThan(LIVE_COUNTS_MAX_AGE_MS + 5000);
});

test('the counts of a batch whose count takes long are refreshed less often, within a bound', () => {
  expect(liveCountsMaxAge(0)).toBe(LIVE_COUNTS_MAX_AGE_MS); // a small batch: every second
  expect(liveCountsMaxAge(150)).toBe(3000); // 200,000 rows: a count of ~150 ms at most every 3 s (5 % of a backend)
  expect(liveCountsMaxAge(60_000)).toBe(LIVE_COUNTS_MAX_STALE_MS);
});

test('a status change reads fresh counts, not ones taken before it', async () => {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: '2026-11-29T11:00:00.000Z' };
  const posted = await stack.http.post('/v1/dumps').set(auth).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  const id = posted.body.batchId as string;
  expect((await poll(id)).report.rows).toEqual({});
  await writeRow(id);
  // What a worker's first phase does (through jobs/lifecycle in real life): queued → running.
  await stack.api.deps.ds.query(`UPDATE migration_batches SET status = 'running' WHERE id = $1`, [id]);
  const after = await poll(id);
  expect(after.status).toBe('running');
  expect(after.report.rows).toEqual({ content_items: 1 });
});

test("a poll answers the batch's phases (times to the millisecond), entry counts and the deltas that follow it, in creation order", async () => {
  const posted = await stack.http.post('/v1/dumps').set(auth).set('Content-Type', 'application/json').send(JSON.stringify({ ...catalystDump(), exportedAt: new Date().toISOString() }));
  expect(posted.status).toBe(202);
  const id = posted.body.batchId as string;
  const { ds } = stack.api.deps;
  // Microseconds the driver truncates; an error text; progress numbers.
  await ds.query(`UPDATE migration_phases SET status = 'completed', total = 7, done = 5, rejected = 2, attempts = 3, error = 'a "quoted" reason',
                    started_at = '2026-11-30 11:49:28.123999+00', finished_at = '2026-11-30 11:49:29.000001+05:30' WHERE batch_id = $1 AND name = 'ingest'`, [id]);
  await ds.query(`INSERT INTO batch_rejects (batch_id, entry_seq, phase, path, code, reason) VALUES ($1, 0, 'ingest', 'x', 'test', 'y')`, [id]);
  // Two deltas that follow it (failed ones: only one live delta per base), created out of id order.
  const later = [randomUUID(), randomUUID()].sort().reverse();
  for (const [i, d] of later.entries()) {
    await ds.query(
      `INSERT INTO migration_batches SELECT (jsonb_populate_record(NULL::migration_batches, to_jsonb(b) || jsonb_build_object(
         'id', $2::uuid, 'base_batch_id', b.id, 'root_batch_id', b.id, 'kind', 'delta', 'status', 'failed', 'dump_sha256', md5($2::text), 'created_at', now() + make_interval(secs => $3)))).*
       FROM migration_batches b WHERE b.id = $1`,
      [id, d, i + 1],
    );
  }
  const body = (await stack.http.get(`/v1/batches/${id}`).set(auth)).body;
  const phases = await ds.query(
    `SELECT name, status, total, done, rejected, attempts, error, started_at AS "startedAt", finished_at AS "finishedAt" FROM migration_phases WHERE batch_id = $1 ORDER BY position`, [id]);
  const [counts] = await ds.query(
    `SELECT count(*)::int AS staged, count(*) FILTER (WHERE outcome = 'migrated')::int AS migrated, count(*) FILTER (WHERE outcome = 'preserved')::int AS preserved,
            count(*) FILTER (WHERE outcome = 'rejected')::int AS rejected, count(*) FILTER (WHERE outcome = 'pending')::int AS pending,
            (SELECT count(*)::int FROM batch_rejects r WHERE r.batch_id = $1) AS "rejectedElements" FROM dump_entries WHERE batch_id = $1`, [id]);
  expect(body.phases).toEqual(JSON.parse(JSON.stringify(phases)));
  expect(body.phases[0]).toMatchObject({ name: 'ingest', startedAt: '2026-11-30T11:49:28.123Z', finishedAt: '2026-11-30T06:19:29.000Z', error: 'a "quoted" reason', total: 7 });
  expect(body.counts).toEqual({ entries: body.counts.entries, ...counts });
  expect(body.counts.rejectedElements).toBe(1);
  expect(body.followedBy).toEqual(later);
});
