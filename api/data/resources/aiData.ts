/**
 * AI data, read-only (docs/catalyst-layout.md §2.10, §2.11): a website's `AIContext` (its `_ai_context` section:
 * one `ai_contexts` row plus one `ai_history_entries` row per history element) and the chat sessions
 * (`PersistedChat` + `StorageMetadata`: one `chat_sessions` row plus its `chat_messages`). The migration
 * writes them; the app only reads them back, so there are no write routes. Resources made of several
 * rows answer with an ETag combining their rows' tags in order.
 */
import { z } from 'zod';
import { Errors } from '../../../core/errors';
import { combineTags, etagSql, quote } from '../etag';
import { route, type DataRequest } from '../route';
import { compact, iso, mustFind, type Db, type Loaded, type RowJson } from '../rows';
import { ETAG_HEADER, IdParams, IsoDate, JsonObject, WebsiteParams, errors, IF_NONE_MATCH } from '../schemas';
import { loadWebsite } from './websites';

const ContextFields = {
  id: z.uuid(), sourceId: z.string().describe("The website's browser id (the section belongs to it)"),
  websiteId: z.uuid(), websiteSourceId: z.string(),
  brandIdentity: JsonObject.optional(), visualIdentity: JsonObject.optional(), contentStrategy: JsonObject.optional(),
};
const HistoryEntry = z.object({
  id: z.string().describe('The id the app used'), serverId: z.uuid(), timestamp: IsoDate.optional(), prompt: z.string(), response: z.string(), context: JsonObject.optional(),
});
const AiContextOut = z.object({ ...ContextFields, history: z.array(HistoryEntry) }).describe('AIContext as the app stored it');
const AiContextSummary = z.object({ ...ContextFields, historyCount: z.number().int() }).describe('AIContext without its history (GET the website\'s ai-context for it)');
const Message = z.object({ id: z.string(), role: z.string(), content: z.string(), timestamp: IsoDate.optional(), metadata: JsonObject.optional() });
const ChatOut = z.object({
  id: z.uuid(), sourceId: z.string().describe('The session id (key catalyst:chat:<sessionId>)'),
  messages: z.array(Message), timestamp: IsoDate.optional(), version: z.string().optional(), metadata: JsonObject,
  storageMetadata: JsonObject.nullable().describe('The StorageMetadata record (catalyst:metadata:<sessionId>), null if there was none'),
}).describe('PersistedChat as the app stored it, plus its StorageMetadata');
const AiPrompt = z.object({
  id: z.uuid(), sourceId: z.string().describe('The website id of its key ai_prompt_<websiteId>'),
  websiteId: z.uuid().nullable().describe('null when that website is not in the database'),
  original: z.string(), processed: JsonObject.optional(), timestamp: z.number().optional().describe('Date.now() when it was written, as the app stored it'),
}).describe('InitialPromptData (sessionStorage ai_prompt_<websiteId>) as the app stored it');
const ChatSummary = z.object({
  id: z.uuid(), sourceId: z.string(), schemaVersion: z.string().nullable(), savedAt: IsoDate.nullable(), messageCount: z.number().int(),
});

async function tagged(db: Db, sql: string, args: unknown[]): Promise<Loaded[]> {
  const rows: { r: RowJson; etag: string }[] = await db.query(sql, args);
  return rows.map((x) => ({ r: x.r, etag: quote(x.etag) }));
}

/** Row → InitialPromptData (timestamp back to epoch milliseconds, as the app wrote it). */
function promptShape(p: RowJson) {
  const at = iso(p.prompted_at);
  return { id: p.id, sourceId: p.source_id, websiteId: (p.website_id as string | null) ?? null, original: p.original as string, ...compact({ processed: p.processed, timestamp: at ? Date.parse(at) : null }) };
}

function contextFields(c: RowJson, websiteSourceId: string) {
  return {
    id: c.id, sourceId: c.source_id, websiteId: c.website_id as string, websiteSourceId,
    ...compact({ brandIdentity: c.brand_identity, visualIdentity: c.visual_identity, contentStrategy: c.content_strategy }),
  };
}

/** Row → AIHistoryEntry: `id` is the app's, the timestamp as it was written (an invalid one was not kept). */
function historyShape(h: RowJson) {
  return { id: h.source_id, serverId: h.id, ...compact({ timestamp: iso(h.occurred_at) }), prompt: h.prompt as string, response: h.response as string, ...compact({ context: h.context }) };
}

function messageShape(m: RowJson) {
  return { id: m.source_id, role: m.role as string, content: m.content as string, ...compact({ timestamp: iso(m.sent_at), metadata: m.metadata }) };
}

function chatShape(s: RowJson, messages: RowJson[]) {
  return {
    id: s.id, sourceId: s.source_id,
    messages: messages.map(messageShape),
    ...compact({ timestamp: iso(s.saved_at), version: s.schema_version }),
    metadata: (s.metadata ?? {}) as Record<string, unknown>,
    storageMetadata: (s.storage_metadata ?? null) as Record<string, unknown> | null,
  };
}

const tag = 'AI data';
export const aiDataRoutes = [
  route({
    method: 'get', path: '/v1/websites/:websiteId/ai-context', operationId: 'getWebsiteAiContext', tag, auth: 'user', snapshot: true,
    summary: "Get a website's AI context (brand, visual identity, content strategy and prompt history)", params: WebsiteParams,
    requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The AI context', schema: AiContextOut, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req: DataRequest<{ websiteId: string }>) => {
      const db = req.db;
      const w = await loadWebsite(db, req, req.params.websiteId);
      const [c] = await tagged(db, `SELECT to_jsonb(t) AS r, ${etagSql('t')} AS etag FROM ai_contexts t WHERE t.website_id = $1 AND t.user_id = $2`, [w.r.id, req.caller.userId]);
      if (!c) throw Errors.notFound(`An AI context for website ${JSON.stringify(req.params.websiteId)}`);
      const history = await tagged(db, `SELECT to_jsonb(t) AS r, ${etagSql('t')} AS etag FROM ai_history_entries t WHERE t.website_id = $1 AND t.user_id = $2 ORDER BY t.position, t.id`, [w.r.id, req.caller.userId]);
      return { body: { ...contextFields(c.r, w.r.source_id), history: history.map((h) => historyShape(h.r)) }, etag: combineTags([c.etag, ...history.map((h) => h.etag)]) };
    },
  }),
  route({
    method: 'get', path: '/v1/ai-contexts', operationId: 'listAiContexts', tag, auth: 'user',
    summary: "List the user's AI contexts, one per website (without their history)",
    responses: { 200: { description: 'The AI contexts', schema: z.array(AiContextSummary) }, ...errors(401, 403) },
    handler: async (req) => {
      const rows: { r: RowJson; website_source: string; n: number }[] = await req.db.query(
        `SELECT to_jsonb(t) AS r, w.source_id AS website_source,
                (SELECT count(*) FROM ai_history_entries h WHERE h.website_id = t.website_id AND h.user_id = t.user_id)::int AS n
         FROM ai_contexts t JOIN websites w ON w.id = t.website_id WHERE t.user_id = $1 ORDER BY w.created_at, w.id`, [req.caller.userId]);
      return { body: rows.map((x) => ({ ...contextFields(x.r, x.website_source), historyCount: x.n })) };
    },
  }),
  route({
    method: 'get', path: '/v1/chat-sessions', operationId: 'listChatSessions', tag, auth: 'user',
    summary: "List the user's chat sessions, last saved first",
    responses: { 200: { description: 'The sessions', schema: z.array(ChatSummary) }, ...errors(401, 403) },
    handler: async (req) => {
      const rows: { r: RowJson; n: number }[] = await req.db.query(
        `SELECT to_jsonb(t) AS r, (SELECT count(*) FROM chat_messages m WHERE m.chat_session_id = t.id)::int AS n
         FROM chat_sessions t WHERE t.user_id = $1 ORDER BY t.saved_at DESC NULLS LAST, t.id`, [req.caller.userId]);
      return { body: rows.map(({ r, n }) => ({ id: r.id, sourceId: r.source_id, schemaVersion: (r.schema_version as string | null) ?? null, savedAt: iso(r.saved_at), messageCount: n })) };
    },
  }),
  route({
    method: 'get', path: '/v1/chat-sessions/:id', operationId: 'getChatSession', tag, auth: 'user', snapshot: true,
    summary: 'Get a chat session as the app persisted it (by server id or session id)', params: IdParams,
    requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The chat', schema: ChatOut, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req: DataRequest<{ id: string }>) => {
      const db = req.db;
      const s = await mustFind(db, 'chat_sessions', { user_id: req.caller.userId }, req.params.id, 'Chat session');
      const messages = await tagged(db, `SELECT to_jsonb(t) AS r, ${etagSql('t')} AS etag FROM chat_messages t WHERE t.chat_session_id = $1 AND t.user_id = $2 ORDER BY t.position, t.id`, [s.r.id, req.caller.userId]);
      return { body: chatShape(s.r, messages.map((x) => x.r)), etag: combineTags([s.etag, ...messages.map((x) => x.etag)]) };
    },
  }),
  route({
    method: 'get', path: '/v1/ai-prompts', operationId: 'listAiPrompts', tag, auth: 'user',
    summary: "List the user's initial website prompts (one per website, as sessionStorage held them)",
    responses: { 200: { description: 'The prompts', schema: z.array(AiPrompt) }, ...errors(401, 403) },
    handler: async (req) => {
      const rows: { r: RowJson }[] = await req.db.query(`SELECT to_jsonb(t) AS r FROM ai_prompts t WHERE t.user_id = $1 ORDER BY t.prompted_at NULLS LAST, t.id`, [req.caller.userId]);
      return { body: rows.map((x) => promptShape(x.r)) };
    },
  }),
  route({
    method: 'get', path: '/v1/ai-prompts/:id', operationId: 'getAiPrompt', tag, auth: 'user',
    summary: 'Get an initial website prompt (by server id or the website id of its key)', params: IdParams,
    requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The prompt', schema: AiPrompt, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req: DataRequest<{ id: string }>) => {
      const p = await mustFind(req.db, 'ai_prompts', { user_id: req.caller.userId }, req.params.id, 'AI prompt');
      return { body: promptShape(p.r), etag: p.etag };
    },
  }),
];
