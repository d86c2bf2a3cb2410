import { createHash } from 'node:crypto';
import { catalystLayout, mergeChatGroup, mergeChatSession } from '../../jobs/transforms/catalyst';
import { transformAiContext, transformAiPrompt } from '../../jobs/transforms/catalyst/aiData';
import { aiContext, idb, ls, makeCtx, persistedChat, PNG_B64, PNG_DATA_URL, section, ss, storageMetadata, WEBSITE_ID } from './fixtures';

const { ctx } = makeCtx();
const chatEntry = (v: unknown, area: 'idb' | 'ls' = 'idb') =>
  area === 'idb' ? idb('catalyst-studio', 'persistence', 'catalyst:chat:default', v) : ls('catalyst:chat:default', v);
const metaEntry = (v: unknown) => idb('catalyst-studio', 'persistence', 'catalyst:metadata:default', v);

describe('website_<id>_ai_context (§2.11)', () => {
  test('ai_contexts row + history rows; Date and ISO timestamps; logoUrl data: URL → blob', () => {
    const v = { ...aiContext(), visualIdentity: { colors: { primary: '#000' }, logoUrl: PNG_DATA_URL } };
    v.history.push({ id: 'h2', timestamp: '2025-08-12T09:00:00.000Z' as unknown as Date, prompt: 'again', response: { ok: true } as unknown as string, context: undefined as never });
    const r = transformAiContext(section(WEBSITE_ID, 'ai_context', v), ctx);
    const sha = createHash('sha256').update(Buffer.from(PNG_B64, 'base64')).digest('hex');
    expect(r.rows!.ai_contexts).toEqual([{
      id: ctx.id('ai_context', WEBSITE_ID), userId: 'user-1', sourceId: WEBSITE_ID, websiteId: ctx.websiteId(WEBSITE_ID),
      brandIdentity: v.brandIdentity, visualIdentity: { colors: { primary: '#000' }, logoUrl: ctx.assetUrl(sha) }, contentStrategy: v.contentStrategy,
    }]);
    expect(r.blobs).toHaveLength(1);
    expect(r.rows!.ai_history_entries!.map((h) => [h.position, h.occurredAt, h.response, h.context])).toEqual([
      [0, new Date('2025-08-12T07:00:34.600Z'), '{"websiteName":"Coffee Shop"}', { type: 'website_creation' }],
      [1, new Date('2025-08-12T09:00:00.000Z'), '{"ok":true}', null],
    ]);
  });

  test('an invalid history timestamp is reported; the entry is kept with occurredAt null', () => {
    const v = aiContext();
    v.history[0].timestamp = new Date(NaN);
    const r = transformAiContext(section(WEBSITE_ID, 'ai_context', v), ctx);
    expect(r.rejects).toEqual([expect.objectContaining({ path: 'history[0].timestamp', code: 'invalid_date' })]);
    expect(r.rows!.ai_history_entries![0].occurredAt).toBeNull();
  });
});

describe('ai_prompt_<websiteId> (§2.9)', () => {
  test('→ ai_prompts, promptedAt from timestamp ms, websiteId set from the key', () => {
    const value = { original: 'Create a coffee shop website with online ordering and payments', processed: { websiteName: 'Coffee Shop', category: 'ecommerce' }, timestamp: 1754981234999 };
    const r = transformAiPrompt(ss(`ai_prompt_${WEBSITE_ID}`, JSON.stringify(value)), ctx);
    expect(r.rows!.ai_prompts).toEqual([{
      id: ctx.id('ai_prompt', WEBSITE_ID), userId: 'user-1', sourceId: WEBSITE_ID, websiteId: ctx.websiteId(WEBSITE_ID),
      original: value.original, processed: value.processed, promptedAt: new Date(1754981234999),
    }]);
  });
  test('no original → rejected', () => {
    expect(transformAiPrompt(ss('ai_prompt_x', '{"timestamp":1}'), ctx).outcome).toBe('rejected');
  });
});

describe('chat (§2.10): values are JSON strings', () => {
  test('chat + metadata → one chat_sessions row and its messages', () => {
    const r = mergeChatSession(JSON.stringify(persistedChat), JSON.stringify(storageMetadata), 'default', ctx);
    const sessionId = ctx.id('chat_session', 'default');
    expect(r.rows!.chat_sessions).toEqual([{
      id: sessionId, userId: 'user-1', sourceId: 'default', sessionKey: 'default', websiteId: null, schemaVersion: '1.0.0',
      metadata: { sessionId: 'default' }, storageMetadata, savedAt: new Date('2025-08-12T08:20:04.000Z'),
    }]);
    expect(r.rows!.chat_messages!.map((m) => [m.id, m.chatSessionId, m.position, m.role, m.content, m.sentAt])).toEqual([
      [ctx.id('chat_message', 'default', 'msg-abc'), sessionId, 0, 'user', 'Build a blog', new Date('2025-08-12T08:20:00.000Z')],
      [ctx.id('chat_message', 'default', 'msg-abd'), sessionId, 1, 'assistant', 'Sure...', new Date('2025-08-12T08:20:03.000Z')],
    ]);
  });

  test('an already decoded object is tolerated', () => {
    expect(mergeChatSession(persistedChat, null, 'default', ctx).rows!.chat_messages).toHaveLength(2);
  });

  test('metadata without chat still makes the session row', () => {
    const r = mergeChatSession(null, JSON.stringify(storageMetadata), 'default', ctx);
    expect(r.rows!.chat_sessions![0]).toMatchObject({ metadata: {}, storageMetadata, savedAt: new Date('2025-08-12T08:20:04.000Z'), schemaVersion: '1.0.0' });
    expect(r.rows!.chat_messages).toEqual([]);
  });

  test('invalid JSON → rejected; bad messages are element rejects', () => {
    expect(mergeChatSession('{"messages":', null, 'default', ctx).outcome).toBe('rejected');
    const chat = { ...persistedChat, messages: [{ id: 'm', role: 'user', content: 'x', timestamp: 'nope' }, { id: 'n', content: 'no role' }, 'junk'] };
    const r = mergeChatSession(JSON.stringify(chat), null, 'default', ctx);
    expect(r.rejects!.map((x) => [x.path, x.code])).toEqual([['messages[0].timestamp', 'invalid_date'], ['messages[1].role', 'invalid_role'], ['messages[2]', 'invalid_message']]);
    expect(r.rows!.chat_messages).toHaveLength(1);
  });

  test('the group: IndexedDB and an older localStorage copy of the same session', () => {
    const c = chatEntry(JSON.stringify(persistedChat));
    const m = metaEntry(JSON.stringify(storageMetadata));
    const old = chatEntry(JSON.stringify({ ...persistedChat, timestamp: '2025-08-11T00:00:00.000Z', messages: [] }), 'ls');
    const g = mergeChatGroup([old, c, m], ctx);
    expect(g.outcomes).toEqual([
      { seq: old.seq, outcome: 'preserved', reason: expect.stringContaining(`seq ${c.seq} from indexedDB`) },
      { seq: c.seq, outcome: 'migrated' },
      { seq: m.seq, outcome: 'migrated' },
    ]);
    expect(g.result.rows!.chat_messages).toHaveLength(2);
  });

  test('through catalystLayout: the aiData group covers chat, AI contexts and prompts', () => {
    const group = catalystLayout.groupTransforms.chat!;
    expect(catalystLayout.groupTransforms['ai-prompt']).toBe(group);
    const c = chatEntry(JSON.stringify(persistedChat));
    const m = metaEntry(JSON.stringify(storageMetadata));
    const a = section(WEBSITE_ID, 'ai_context', aiContext());
    const p = ss(`ai_prompt_${WEBSITE_ID}`, JSON.stringify({ original: 'x', timestamp: 1 }));
    const out = group.run([c, a, m, p], ctx);
    expect([...out.keys()].sort()).toEqual([c.seq, a.seq, m.seq, p.seq].sort());
    expect(out.get(c.seq)!.rows!.chat_sessions![0].storageMetadata).toEqual(storageMetadata);
    expect(out.get(m.seq)).toEqual({ outcome: 'migrated', rejects: [], ridesOn: c.seq }); // the session row is carried by the chat entry
    expect(out.get(a.seq)!.rows!.ai_contexts).toHaveLength(1);
    expect(out.get(p.seq)!.rows!.ai_prompts).toHaveLength(1);
  });
});
