/**
 * The whole path, for real: a Catalyst dump is posted, workers migrate it phase by phase into Postgres,
 * and the rows, remapped ids and report are checked.
 */
import { rowId } from '../../core/ids';
import { CONTENT_ITEMS, CONTENT_TYPES, PNG_1PX, SECRET_API_KEY, STRAPI_TOKEN, WEBSITE_ID, catalystDump, entryCount, toNdjson } from '../fixtures/catalystDump';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let token: string;
const USER = 'user-pipeline';

beforeAll(async () => {
  stack = await startStack();
  token = await stack.mintToken(USER);
});
afterAll(() => stack.close());

const q = (sql: string, params: unknown[] = []) => stack.api.deps.ds.query(sql, params);
const auth = () => ({ Authorization: `Bearer ${token}` });

describe('a small Catalyst dump', () => {
  let batchId: string;
  const doc = catalystDump();

  beforeAll(async () => {
    const res = await stack.http.post('/v1/dumps').set(auth()).set('Content-Type', 'application/json').send(JSON.stringify(doc));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', statusUrl: `/v1/batches/${res.body.batchId}` });
    batchId = res.body.batchId;
    expect(await waitForBatch(stack, batchId)).toBe('completed');
  });

  test('status shows every phase completed', async () => {
    const res = await stack.http.get(`/v1/batches/${batchId}`).set(auth());
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('completed');
    expect(res.body.phases.map((p: { name: string }) => p.name)).toEqual([
      'ingest', 'websites', 'contentTypes', 'contentItems', 'websiteStorage', 'aiData', 'userPreferences', 'deploymentConfigs', 'deploymentHistory', 'preserve', 'prune', 'verify',
    ]);
    for (const p of res.body.phases) expect(p.status).toBe('completed');
    expect(res.body.report.verification.ok).toBe(true);
  });

  test('the report accounts for every entry: migrated + preserved + rejected = entries', async () => {
    const res = await stack.http.get(`/v1/batches/${batchId}/report`).set(auth());
    expect(res.status).toBe(200);
    const t = res.body.totals;
    expect(t.entries).toBe(entryCount(doc));
    expect(t.migrated + t.preserved + t.rejected).toBe(t.entries);
    expect(t.pending).toBe(0);
    expect(res.body.balanced).toBe(true);
    expect(res.body.entries).toHaveLength(t.entries);
    for (const e of res.body.entries) {
      expect(['migrated', 'preserved', 'rejected']).toContain(e.outcome);
      if (e.outcome !== 'migrated') expect(e.reason).toEqual(expect.any(String));
    }
    const preserved = res.body.entries.filter((e: { outcome: string }) => e.outcome === 'preserved').map((e: { key: string }) => e.key).sort();
    expect(preserved).toEqual(['catalyst_migration_version', 'sitemapComments']);
    expect(res.body.notes.globalWebsite).toMatchObject({ sourceId: WEBSITE_ID, rule: 'the only website in the dump' });
  });

  test('websites: one row from metadata + config section, with source id and batch id', async () => {
    const rows = await q(`SELECT * FROM websites WHERE user_id = $1`, [USER]);
    expect(rows).toHaveLength(1);
    const w = rows[0];
    expect(w.id).toBe(rowId(USER, 'website', WEBSITE_ID));
    expect(w).toMatchObject({ source_id: WEBSITE_ID, batch_id: batchId, name: 'Coffee Shop', category: 'ecommerce' });
    expect(w.created_at.toISOString()).toBe('2025-08-12T07:00:34.567Z');
    expect(JSON.stringify(w.metadata)).toContain('#10B981');
  });

  test('content types: deduplicated by name, ids remapped, attached to the website', async () => {
    const rows = await q(`SELECT * FROM content_types WHERE user_id = $1 ORDER BY name`, [USER]);
    expect(rows.map((r: { name: string }) => r.name)).toEqual(['Author', 'BlogPost']);
    const blog = rows.find((r: { name: string }) => r.name === 'BlogPost');
    expect(blog.source_id).toBe(CONTENT_TYPES[0].id);
    expect(blog.id).toBe(rowId(USER, 'content_type', CONTENT_TYPES[0].id));
    expect(blog.website_id).toBe(rowId(USER, 'website', WEBSITE_ID));
    const rel = (blog.schema.relationships as { targetContentTypeId: string }[])[0];
    expect(rel.targetContentTypeId).toBe(rowId(USER, 'content_type', CONTENT_TYPES[1].id));
  });

  test('content items: type ids remapped (also through the dedupe alias), inline image moved out', async () => {
    const rows = await q(`SELECT * FROM content_items WHERE user_id = $1`, [USER]);
    expect(rows).toHaveLength(CONTENT_ITEMS.length);
    const byId = new Map(rows.map((r: { source_id: string }) => [r.source_id, r]));
    const blogTypeId = rowId(USER, 'content_type', CONTENT_TYPES[0].id);
    expect((byId.get(CONTENT_ITEMS[0].id) as { content_type_id: string }).content_type_id).toBe(blogTypeId);
    const inline = byId.get(CONTENT_ITEMS[2].id) as { content_type_id: string; data: { heroImage: string } };
    expect(inline.content_type_id).toBe(blogTypeId);
    expect(inline.data.heroImage).toMatch(/\/v1\/assets\/[0-9a-f]{64}\.[A-Za-z0-9_-]{22}$/); // digest.mac (core/assets.ts)
    const asset = await stack.http.get(new URL(inline.data.heroImage).pathname);
    expect(asset.status).toBe(200);
    expect(Buffer.compare(asset.body, Buffer.from(PNG_1PX, 'base64'))).toBe(0);
  });

  test('website storage, AI data, preferences and deployments land in their tables', async () => {
    const count = async (t: string) => (await q(`SELECT count(*)::int AS n FROM ${t} WHERE user_id = $1`, [USER]))[0].n;
    expect(await count('website_pages')).toBe(1);
    expect(await count('website_assets')).toBe(1);
    expect(await count('ai_contexts')).toBe(1);
    expect(await count('ai_history_entries')).toBe(1);
    expect(await count('chat_sessions')).toBe(1);
    expect(await count('chat_messages')).toBe(2);
    expect(await count('ai_prompts')).toBe(1);
    expect(await count('user_preferences')).toBe(1);
    expect(await count('deployment_configs')).toBe(2);
    expect(await count('deployment_history')).toBe(1);
    expect(await count('preserved_entries')).toBe(2);
    const [h] = await q(`SELECT * FROM deployment_history WHERE user_id = $1`, [USER]);
    expect(h.deployment_config_id).toBe(rowId(USER, 'deployment_config', 'contentful'));
  });

  test('secrets are sealed: the API keys appear nowhere in Postgres in plain text', async () => {
    const tables: { table_name: string }[] = await q(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`);
    for (const { table_name } of tables) {
      const [hit] = await q(`SELECT count(*)::int AS n FROM "${table_name}" t WHERE t::text LIKE $1 OR t::text LIKE $2`, [`%${SECRET_API_KEY}%`, `%${STRAPI_TOKEN}%`]);
      expect({ table: table_name, n: hit.n }).toEqual({ table: table_name, n: 0 });
    }
  });

  test('posting the same dump twice yields one batch and no duplicate rows', async () => {
    const before = await q(`SELECT (SELECT count(*) FROM content_items) + (SELECT count(*) FROM websites) AS n`);
    const again = await stack.http.post('/v1/dumps').set(auth()).set('Content-Type', 'application/json').send(JSON.stringify(doc));
    expect(again.status).toBe(200);
    expect(again.body.batchId).toBe(batchId);
    const [{ n }] = await q(`SELECT count(*)::int AS n FROM migration_batches WHERE user_id = $1`, [USER]);
    expect(n).toBe(1);
    const after = await q(`SELECT (SELECT count(*) FROM content_items) + (SELECT count(*) FROM websites) AS n`);
    expect(after[0].n).toBe(before[0].n);
  });

  test('the same content as NDJSON (a new batch) updates nothing: rows are unchanged, not rewritten', async () => {
    const res = await stack.http.post('/v1/dumps').set(auth()).set('Content-Type', 'application/x-ndjson').send(toNdjson(doc));
    expect(res.status).toBe(202);
    expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
    const [{ n }] = await q(`SELECT count(*)::int AS n FROM row_journal WHERE batch_id = $1`, [res.body.batchId]);
    expect(n).toBe(0);
    const [{ c }] = await q(`SELECT count(*)::int AS c FROM content_items WHERE user_id = $1`, [USER]);
    expect(c).toBe(CONTENT_ITEMS.length);
  });
});
