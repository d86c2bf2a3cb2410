/**
 * AI data of docs/catalyst-layout.md §2.9–§2.11:
 *  - 'website-ai-context' (I3 `website_<id>_ai_context`, AIContext) → one `ai_contexts` row per website
 *    (brandIdentity, visualIdentity with an inline `logoUrl` moved to a blob, contentStrategy) and one
 *    `ai_history_entries` row per `history[]` element.
 *  - 'ai-prompt' (S1 sessionStorage `ai_prompt_<websiteId>`, InitialPromptData) → one `ai_prompts` row.
 *  - 'chat' lives in chat.ts (re-exported here).
 *
 * ai_prompts.websiteId decision: set to `ctx.websiteId(<id from the key>)` even though that website may
 * not be in the dump (the prompt is one-time data, often written for a website whose creation never
 * finished). The pipeline must null it when no such website row exists; the source website id is
 * always kept in `sourceId` so nothing is lost.
 */
import type { ElementReject, Row, SourceEntry, TransformContext, TransformResult } from '../types';
import { transform as transformChat } from './chat';
import { classify, parseAiPromptKey, parseSectionDb } from './classify';
import { BlobCollector } from './dataUrls';
import { readDate } from './dates';
import { type Section, openSection } from './websiteStorage';
import { ElementKeys, type Obj, finish, isRecord, otherKeys, parseJson, rejected, row, textOf } from './util';

export { mergeChatGroup, mergeChatSession } from './chat';
export { transformChat };

function history(s: Section, ctx: TransformContext, rejects: ElementReject[]): Row[] {
  const v = s.value.history;
  if (v !== undefined && v !== null && !Array.isArray(v)) {
    rejects.push({ path: 'history', code: 'invalid_shape', reason: 'history is not an array' });
    return [];
  }
  const keys = new ElementKeys();
  const out: Row[] = [];
  (v ?? []).forEach((h, i) => {
    const path = `history[${i}]`;
    if (!isRecord(h)) return void rejects.push({ path, code: 'invalid_history_entry', reason: `${path} is not an object` });
    // A Date object (structured clone) or an ISO string; invalid → reported, stored as null.
    const at = readDate(h.timestamp, `${path}.timestamp`, rejects);
    out.push(row(ctx, ctx.id('ai_history_entry', s.websiteSourceId, keys.key(h.id, i)), typeof h.id === 'string' ? h.id : path, {
      websiteId: s.websiteId,
      position: i,
      occurredAt: at instanceof Date ? at : null,
      prompt: textOf(h.prompt),
      response: textOf(h.response), // §2.11: the prompt processor stores a JSON *string*; objects are stringified
      context: isRecord(h.context) ? h.context : null,
    }));
  });
  return out;
}

/** 'website-ai-context' → ai_contexts + ai_history_entries. */
export function transformAiContext(entry: SourceEntry, ctx: TransformContext): TransformResult {
  if (parseSectionDb(entry.dbName)?.section !== 'ai_context') return rejected('not a website_<id>_ai_context record');
  const s = openSection(entry, ctx);
  if (!('value' in s)) return s;
  const rejects: ElementReject[] = [];
  const blobs = new BlobCollector(ctx);
  const v = s.value;
  let visual: Obj | null = isRecord(v.visualIdentity) ? { ...v.visualIdentity } : null;
  if (visual && typeof visual.logoUrl === 'string') {
    visual = { ...visual, logoUrl: blobs.replace(visual.logoUrl, 'visualIdentity.logoUrl', rejects) };
  }
  const context = row(ctx, ctx.id('ai_context', s.websiteSourceId), s.websiteSourceId, {
    websiteId: s.websiteId,
    brandIdentity: isRecord(v.brandIdentity) ? v.brandIdentity : null,
    visualIdentity: visual,
    contentStrategy: isRecord(v.contentStrategy) ? v.contentStrategy : null,
  });
  const rows = { ai_contexts: [context], ai_history_entries: history(s, ctx, rejects) };
  const collected = blobs.blobs;
  const extra = otherKeys(v, ['id', 'brandIdentity', 'visualIdentity', 'contentStrategy', 'history']);
  return {
    rows,
    rejects,
    ...(collected.length ? { blobs: collected } : {}),
    notes: extra.length ? { [`aiContext:${s.websiteSourceId}`]: { unmappedKeys: extra } } : {},
  };
}

/** 'ai-prompt' → ai_prompts (promptedAt from `timestamp`, epoch ms). */
export function transformAiPrompt(entry: SourceEntry, ctx: TransformContext): TransformResult {
  const websiteSourceId = parseAiPromptKey(entry.key);
  if (!websiteSourceId) return rejected('key is not ai_prompt_<websiteId>');
  const parsed = parseJson(entry.value);
  if (!parsed.ok) return rejected(parsed.reason);
  const v = parsed.value;
  if (!isRecord(v)) return rejected('the prompt is not a JSON object (InitialPromptData, docs/catalyst-layout.md §2.9)');
  if (typeof v.original !== 'string') return rejected('the prompt has no `original` text');
  const rejects: ElementReject[] = [];
  const at = readDate(v.timestamp, 'timestamp', rejects);
  const prompt = row(ctx, ctx.id('ai_prompt', websiteSourceId), websiteSourceId, {
    websiteId: ctx.websiteId(websiteSourceId), // the pipeline nulls it if that website row does not exist
    original: v.original,
    processed: isRecord(v.processed) ? v.processed : null,
    promptedAt: at instanceof Date ? at : null,
  });
  return finish({ rows: { ai_prompts: [prompt] }, rejects });
}

/**
 * Dispatch by kind: 'website-ai-context', 'ai-prompt' or 'chat'. A lone chat entry is correct only when
 * its session has no other record; the pipeline groups chat entries (index.ts, mergeChatGroup).
 */
export function transform(entry: SourceEntry, ctx: TransformContext): TransformResult {
  switch (classify(entry)) {
    case 'website-ai-context': return transformAiContext(entry, ctx);
    case 'ai-prompt': return transformAiPrompt(entry, ctx);
    case 'chat': return transformChat(entry, ctx);
    default: return rejected('not an AI context, AI prompt or chat entry');
  }
}
