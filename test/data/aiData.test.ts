/**
 * AI data (read-only) through the data API, after a real migration of the Catalyst dump: a website's
 * AIContext and the chat session read back as the app stored them, ETags combining every row of the
 * resource, 404 for a website without AI context, path validation, and ownership.
 */
import { rowId } from '../../core/ids';
import { WEBSITE_ID, catalystDump } from '../fixtures/catalystDump';
import { startStack, waitForBatch, type Stack } from '../helpers/stack';

let stack: Stack;
let alice: string;
let bob: string;
const ALICE = 'alice-ai';
const as = (token: string) => ({ Authorization: `Bearer ${token}` });
const q = (sql: string, args: unknown[] = []) => stack.api.deps.ds.query(sql, args);

/** The dump's own records, as the app stored them. */
const doc = catalystDump();
const record = (db: string, key: string) => doc.indexedDB.find((d) => d.name === db)!.stores[0].records.find((r) => r.key === key)!.value;
const AI_CONTEXT = record(`website_${WEBSITE_ID}_ai_context`, 'main') as { brandIdentity: object; contentStrategy: object; history: Record<string, unknown>[] };
const CHAT = JSON.parse(record('catalyst-studio', 'catalyst:chat:default') as string);
const CHAT_META = JSON.parse(record('catalyst-studio', 'catalyst:metadata:default') as string);

beforeAll(async () => {
  stack = await startStack();
  alice = await stack.mintToken(ALICE);
  bob = await stack.mintToken('bob-ai');
  const res = await stack.http.post('/v1/dumps').set(as(alice)).set('Content-Type', 'application/json').send(JSON.stringify(doc));
  expect(res.status).toBe(202);
  expect(await waitForBatch(stack, res.body.batchId)).toBe('completed');
  await stack.stopWorkers();
});
afterAll(() => stack.close());

describe('AI context', () => {
  const websiteId = () => rowId(ALICE, 'website', WEBSITE_ID);

  it("reads a website's AI context back as the app stored it", async () => {
    const res = await stack.http.get(`/v1/websites/${WEBSITE_ID}/ai-context`).set(as(alice));
    expect(res.status).toBe(200);
    const h = AI_CONTEXT.history[0];
    expect(res.body).toEqual({
      id: rowId(ALICE, 'ai_context', WEBSITE_ID), sourceId: WEBSITE_ID, websiteId: websiteId(), websiteSourceId: WEBSITE_ID,
      brandIdentity: AI_CONTEXT.brandIdentity, contentStrategy: AI_CONTEXT.contentStrategy,
      history: [{ id: h.id, serverId: rowId(ALICE, 'ai_history_entry', WEBSITE_ID, h.id as string), timestamp: (h.timestamp as { v: string }).v, prompt: h.prompt, response: h.response, context: h.context }],
    });
    const byServerId = await stack.http.get(`/v1/websites/${websiteId()}/ai-context`).set(as(alice));
    expect(byServerId.body).toEqual(res.body);
    expect(byServerId.headers.etag).toBe(res.headers.etag);
    expect((await stack.http.get(`/v1/websites/${WEBSITE_ID}/ai-context`).set(as(alice)).set('If-None-Match', res.headers.etag)).status).toBe(304);
  });

  it('changes its ETag when a history entry changes (the tag covers every row)', async () => {
    const before = await stack.http.get(`/v1/websites/${WEBSITE_ID}/ai-context`).set(as(alice));
    await q(`UPDATE ai_history_entries SET prompt = prompt || '!' WHERE website_id = $1`, [websiteId()]);
    const after = await stack.http.get(`/v1/websites/${WEBSITE_ID}/ai-context`).set(as(alice)).set('If-None-Match', before.headers.etag);
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect(after.body.history[0].prompt).toBe(`${AI_CONTEXT.history[0].prompt}!`);
    await q(`UPDATE ai_history_entries SET prompt = left(prompt, -1) WHERE website_id = $1`, [websiteId()]);
  });

  it('lists the AI contexts with their websites; 404 for a website without one', async () => {
    const list = await stack.http.get('/v1/ai-contexts').set(as(alice));
    expect(list.status).toBe(200);
    expect(list.body).toEqual([{ id: rowId(ALICE, 'ai_context', WEBSITE_ID), sourceId: WEBSITE_ID, websiteId: websiteId(), websiteSourceId: WEBSITE_ID, brandIdentity: AI_CONTEXT.brandIdentity, contentStrategy: AI_CONTEXT.contentStrategy, historyCount: 1 }]);
    const w = await stack.http.post('/v1/websites').set(as(alice)).send({ name: 'No AI' }).expect(201);
    const none = await stack.http.get(`/v1/websites/${w.body.id}/ai-context`).set(as(alice));
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('not_found');
    expect((await stack.http.get('/v1/websites/no-such-site/ai-context').set(as(alice))).status).toBe(404);
  });

  it("another user's token gets 404 and an empty list", async () => {
    for (const ref of [WEBSITE_ID, websiteId()]) expect((await stack.http.get(`/v1/websites/${ref}/ai-context`).set(as(bob))).status).toBe(404);
    expect((await stack.http.get('/v1/ai-contexts').set(as(bob))).body).toEqual([]);
    expect((await stack.http.get('/v1/ai-contexts')).status).toBe(401);
  });
});

describe('chat sessions', () => {
  const sessionId = () => rowId(ALICE, 'chat_session', 'default');

  it('lists the sessions', async () => {
    const res = await stack.http.get('/v1/chat-sessions').set(as(alice));
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ id: sessionId(), sourceId: 'default', schemaVersion: '1.0.0', savedAt: CHAT.timestamp, messageCount: 2 }]);
  });

  it('reads a session back as the PersistedChat plus its StorageMetadata', async () => {
    const res = await stack.http.get('/v1/chat-sessions/default').set(as(alice));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...CHAT, id: sessionId(), sourceId: 'default', storageMetadata: CHAT_META });
    const byId = await stack.http.get(`/v1/chat-sessions/${sessionId()}`).set(as(alice));
    expect(byId.body).toEqual(res.body);
    expect((await stack.http.get('/v1/chat-sessions/default').set(as(alice)).set('If-None-Match', res.headers.etag)).status).toBe(304);
    // The tag covers the messages too.
    await q(`UPDATE chat_messages SET content = 'Sure!' WHERE chat_session_id = $1 AND source_id = 'msg-abd'`, [sessionId()]);
    const changed = await stack.http.get('/v1/chat-sessions/default').set(as(alice)).set('If-None-Match', res.headers.etag);
    expect(changed.status).toBe(200);
    expect(changed.body.messages[1].content).toBe('Sure!');
  });

  it('validates the path and hides other users\' sessions', async () => {
    const bad = await stack.http.get('/v1/chat-sessions/a%00b').set(as(alice));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_path');
    expect(bad.body.error.details.issues[0].path).toBe('id');
    for (const ref of ['default', sessionId()]) expect((await stack.http.get(`/v1/chat-sessions/${ref}`).set(as(bob))).status).toBe(404);
    expect((await stack.http.get('/v1/chat-sessions').set(as(bob))).body).toEqual([]);
    expect((await stack.http.get('/v1/chat-sessions/nope').set(as(alice))).status).toBe(404);
  });
});
