/**
 * Chat persistence (I1, and the L12/S2 fallbacks; docs/catalyst-layout.md §2.10). Two records per session:
 * `catalyst:chat:<sessionId>` (PersistedChat) and `catalyst:metadata:<sessionId>` (StorageMetadata).
 * Values are JSON STRINGS even in IndexedDB (`store.put(JSON.stringify(data), key)`); an already
 * decoded object is tolerated.
 *
 * Both records fill the SAME `chat_sessions` row (id `ctx.id('chat_session', sessionId)`): the chat
 * gives sessionKey/schemaVersion/metadata/savedAt and its messages, the metadata record gives
 * `storageMetadata`. The pipeline upserts whole rows, so it MUST group chat entries by session id and
 * call `mergeChatGroup` (or `mergeChatSession`) once per session (index.ts does this).
 *
 * Decisions:
 *  - Copies of one session in several areas (IndexedDB → localStorage → sessionStorage fallbacks): the
 *    newest (`timestamp` / `lastSaved`) is migrated, ties go to that fallback order; the others are
 *    'preserved' (kept raw) with a reason.
 *  - Metadata without a chat still makes the session row (empty metadata, no messages, savedAt =
 *    lastSaved, schemaVersion = its version).
 *  - `websiteId` stays null: the chat is global (sessionId 'default', §2.1 "Chat session id").
 *  - Message row ids use the message id (stable across dumps even when the quota fallback keeps only
 *    the last 50), else the index; `position` is the index.
 */
import type { ElementReject, Row, SourceEntry, TransformContext, TransformResult } from '../types';
import { parseChatKey } from './classify';
import { readDate, toDate } from './dates';
import { type EntryOutcome, ElementKeys, type GroupResult, type Obj, finish, isRecord, parseJson, row, textOf } from './util';

type Read = { ok: true; value: Obj } | { ok: false; reason: string };

function readRecord(raw: unknown, what: string): Read {
  const p = parseJson(raw);
  if (!p.ok) return p;
  return isRecord(p.value) ? { ok: true, value: p.value } : { ok: false, reason: `the ${what} is not a JSON object` };
}

const version = (v: unknown): string | null => (typeof v === 'string' && v.length <= 20 ? v : null);

function messages(chat: Obj, sessionId: string, sessionRowId: string, ctx: TransformContext, rejects: ElementReject[]): Row[] {
  const keys = new ElementKeys();
  const out: Row[] = [];
  (chat.messages as unknown[]).forEach((m, i) => {
    const path = `messages[${i}]`;
    if (!isRecord(m)) return void rejects.push({ path, code: 'invalid_message', reason: `${path} is not an object` });
    if (typeof m.role !== 'string' || m.role === '' || m.role.length > 20) {
      return void rejects.push({ path: `${path}.role`, code: 'invalid_role', reason: `${path}.role is not a role name (user, assistant, system)` });
    }
    const sent = readDate(m.timestamp, `${path}.timestamp`, rejects); // optional in the schema; invalid → null
    out.push(row(ctx, ctx.id('chat_message', sessionId, keys.key(m.id, i)), typeof m.id === 'string' ? m.id : path, {
      chatSessionId: sessionRowId,
      position: i,
      role: m.role,
      content: textOf(m.content),
      sentAt: sent instanceof Date ? sent : null,
      metadata: isRecord(m.metadata) ? m.metadata : null,
    }));
  });
  return out;
}

interface Built { result: TransformResult; chatRejects: ElementReject[]; metaRejects: ElementReject[]; chatError?: string; metaError?: string }

function build(chatRaw: unknown, metaRaw: unknown, sessionId: string, ctx: TransformContext): Built {
  const chatRejects: ElementReject[] = [];
  const metaRejects: ElementReject[] = [];
  const chatRead = chatRaw === null || chatRaw === undefined ? null : readRecord(chatRaw, 'chat');
  const metaRead = metaRaw === null || metaRaw === undefined ? null : readRecord(metaRaw, 'chat storage metadata');
  let chat = chatRead?.ok ? chatRead.value : null;
  const meta = metaRead?.ok ? metaRead.value : null;
  let chatError = chatRead && !chatRead.ok ? chatRead.reason : undefined;
  const metaError = metaRead && !metaRead.ok ? metaRead.reason : undefined;
  if (chat && chat.messages !== undefined && !Array.isArray(chat.messages)) {
    chatError = 'the chat `messages` is not an array';
    chat = null;
  }
  if (!chat && !meta) return { result: { outcome: 'rejected', reason: chatError ?? metaError ?? 'no chat data' }, chatRejects, metaRejects, chatError, metaError };

  const id = ctx.id('chat_session', sessionId);
  const saved = chat ? readDate(chat.timestamp, 'timestamp', chatRejects) : readDate(meta!.lastSaved, 'lastSaved', metaRejects);
  if (chat && meta) readDate(meta.lastSaved, 'lastSaved', metaRejects); // validated only; kept verbatim in storageMetadata
  const session = row(ctx, id, sessionId, {
    sessionKey: sessionId,
    websiteId: null,
    schemaVersion: version(chat?.version) ?? version(meta?.version),
    metadata: isRecord(chat?.metadata) ? chat.metadata : {},
    storageMetadata: meta,
    savedAt: saved instanceof Date ? saved : null,
  });
  const msgs = chat && Array.isArray(chat.messages) ? messages(chat, sessionId, id, ctx, chatRejects) : [];
  const notes: Obj = chat ? {} : { [`chatSession:${sessionId}`]: 'storage metadata without a chat record: session row without messages' };
  return { result: { rows: { chat_sessions: [session], chat_messages: msgs }, notes }, chatRejects, metaRejects, chatError, metaError };
}

/**
 * One session from its two records (either may be null; each a JSON string or an object). Rejects
 * from the metadata record are prefixed `metadata:` so the two can be told apart in one list.
 */
export function mergeChatSession(chat: unknown | null, metadata: unknown | null, sessionId: string, ctx: TransformContext): TransformResult {
  const b = build(chat, metadata, sessionId, ctx);
  const rejects = [...b.chatRejects, ...b.metaRejects.map((r) => ({ ...r, path: `metadata:${r.path}` }))];
  for (const [what, err] of [['chat', b.chatError], ['metadata', b.metaError]] as const) {
    if (err && b.result.rows) rejects.push({ path: what, code: 'invalid_record', reason: err });
  }
  return finish({ ...b.result, rejects });
}

const AREA_RANK: Record<string, number> = { indexedDB: 0, localStorage: 1, sessionStorage: 2 };

/** Newest first by `field`; ties (or no date) by the storage-service fallback order, then seq. */
function pick(entries: SourceEntry[], field: string): SourceEntry | undefined {
  const at = (e: SourceEntry): number => {
    const r = readRecord(e.value, 'record');
    const d = r.ok ? toDate(r.value[field]) : null;
    return d instanceof Date ? d.getTime() : -Infinity;
  };
  return [...entries].sort((a, b) => at(b) - at(a) || (AREA_RANK[a.area] ?? 9) - (AREA_RANK[b.area] ?? 9) || a.seq - b.seq)[0];
}

export const chatSessionIdOf = (entry: SourceEntry): string | null => parseChatKey(entry.key)?.sessionId ?? null;

/** All 'chat' entries of ONE session id (any area) → its rows and an outcome per entry. */
export function mergeChatGroup(entries: SourceEntry[], ctx: TransformContext): GroupResult {
  const chats = entries.filter((e) => parseChatKey(e.key)?.part === 'chat');
  const metas = entries.filter((e) => parseChatKey(e.key)?.part === 'metadata');
  const chosenChat = pick(chats, 'timestamp');
  const chosenMeta = pick(metas, 'lastSaved');
  const sessionId = chatSessionIdOf(entries[0]) ?? '';
  const b = build(chosenChat?.value ?? null, chosenMeta?.value ?? null, sessionId, ctx);
  const written = !!b.result.rows;
  const outcomes: EntryOutcome[] = [];
  for (const e of entries) {
    const chosen = e === chosenChat || e === chosenMeta;
    if (!chosen) {
      const other = parseChatKey(e.key)?.part === 'chat' ? chosenChat : chosenMeta;
      outcomes.push({ seq: e.seq, outcome: 'preserved', reason: `an older or lower-priority copy of chat session ${JSON.stringify(sessionId)} (seq ${other?.seq} from ${other?.area} was migrated); kept raw` });
      continue;
    }
    const err = e === chosenChat ? b.chatError : b.metaError;
    const rejects = e === chosenChat ? b.chatRejects : b.metaRejects;
    if (err || !written) outcomes.push({ seq: e.seq, outcome: 'rejected', reason: err ?? b.result.reason ?? 'not migrated' });
    else outcomes.push({ seq: e.seq, outcome: 'migrated', ...(rejects.length ? { rejects } : {}) });
  }
  return { result: written ? b.result : { outcome: 'rejected', reason: b.result.reason }, outcomes };
}

/** A single chat entry on its own (see the header: prefer mergeChatGroup). */
export function transform(entry: SourceEntry, ctx: TransformContext): TransformResult {
  const k = parseChatKey(entry.key);
  if (!k) return { outcome: 'rejected', reason: 'key is not catalyst:chat:<id> or catalyst:metadata:<id>' };
  return k.part === 'chat' ? mergeChatSession(entry.value, null, k.sessionId, ctx) : mergeChatSession(null, entry.value, k.sessionId, ctx);
}
