/**
 * Values at the edges of what a browser can hold: each dump is either refused up front (4xx, no batch) or
 * migrated to a balanced report (every entry migrated, preserved or rejected with a reason); a batch never
 * fails on them.
 */
import { catalystDump, type DumpDoc } from '../fixtures/catalystDump';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;

beforeAll(async () => {
  stack = await startStack({ config: { JOB_ATTEMPTS: '2' } });
  token = await stack.mintToken('edges');
});
afterAll(() => stack.close());

let n = 0;
function freshDump(): DumpDoc {
  const doc = catalystDump();
  doc.source = { ...doc.source, capturedAt: new Date(Date.UTC(2026, 1, 1, 0, 0, n++)).toISOString() };
  return doc;
}

const post = (body: string) =>
  stack.http.post('/v1/dumps').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(body);

/** Posts, waits, and checks the batch ended well with a balanced report; returns the staged entries. */
async function migrate(body: string): Promise<{ batchId: string; entries: { seq: number; entry_key: string; db_version: string | null; outcome: string; reason: string | null }[] }> {
  const res = await post(body);
  expect(res.status).toBe(202);
  const batchId = res.body.batchId as string;
  expect(await waitForBatch(stack, batchId, undefined, 30_000)).toBe('completed');
  const report = await stack.http.get(`/v1/batches/${batchId}/report`).set('Authorization', `Bearer ${token}`);
  expect(report.status).toBe(200);
  const [acc] = await stack.api.deps.ds.query(`SELECT verification->'accounting' AS a FROM migration_batches WHERE id = $1`, [batchId]);
  expect(acc.a).toMatchObject({ balanced: true, pending: 0 });
  const entries = await stack.api.deps.ds.query(`SELECT seq, entry_key, db_version, outcome, reason FROM dump_entries WHERE batch_id = $1 ORDER BY seq`, [batchId]);
  for (const e of entries) if (e.outcome !== 'migrated') expect(e.reason).toEqual(expect.any(String));
  return { batchId, entries };
}

function withDatabase(doc: DumpDoc, name: string, version: number, records: { key: unknown; value: unknown }[]): DumpDoc {
  doc.indexedDB.push({ name, version, stores: [{ name: 's', keyPath: null, autoIncrement: false, indexes: [], records }] });
  return doc;
}

describe('IndexedDB database versions', () => {
  test('the largest version a browser allows (2^53−1) migrates, kept exactly', async () => {
    const doc = withDatabase(freshDump(), 'big_version', Number.MAX_SAFE_INTEGER, [{ key: 'k', value: { a: 1 } }]);
    const { entries } = await migrate(JSON.stringify(doc));
    const staged = entries.find((e) => e.entry_key === '"k"')!;
    expect(staged.db_version).toBe(String(Number.MAX_SAFE_INTEGER));
    expect(staged.outcome).toBe('preserved');
  });

  test('2^31 (one past a Postgres integer) migrates', async () => {
    const doc = withDatabase(freshDump(), 'v2_31', 2 ** 31, [{ key: 'k', value: 1 }]);
    const { entries } = await migrate(JSON.stringify(doc));
    expect(entries.find((e) => e.entry_key === '"k"')!.db_version).toBe(String(2 ** 31));
  });

  test('a version no browser can have (2^53) is refused up front', async () => {
    const doc = withDatabase(freshDump(), 'too_big', 2 ** 53, [{ key: 'k', value: 1 }]);
    const res = await post(JSON.stringify(doc));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('dump_invalid_structure');
  });
});
