/**
 * Properties of the Catalyst transforms over entries fuzzed around their real shapes (./fuzz.ts; a failure
 * prints its seed: replay with FC_SEED=<seed> FC_PATH=<path>). For any entry of each kind:
 *  - the transform returns (a per-entry transform never throws; a group never needs its guard);
 *  - an entry without rows has an outcome and a reason (rides on another entry's rows excepted);
 *  - every element of the input (content type, item, page, asset, provider, job, history entry, message)
 *    becomes a row or an ElementReject naming it (or, for content types, a documented merge);
 *  - every row is one Postgres takes (or one the write path refuses with a reason), so no page fails;
 *  - no reason, reject or note of deployment configs repeats a secret.
 */
import fc from 'fast-check';
import { catalystLayout } from '../../jobs/transforms/catalyst';
import type { Row, SourceEntry, TableName, TransformContext, TransformResult } from '../../jobs/transforms/types';
import { CONTENT_ITEMS, CONTENT_TYPES } from '../fixtures/catalystDump';
import { fcParams } from '../format/arbitraries';
import {
  aiContext, CONTENTFUL_KEY, idb, ls, makeCtx, oldJob, persistedChat, PNG_DATA_URL, previewSettings, providerConfigs, section, ss,
  STRAPI_KEY, storageMetadata, WEBSITE_ID, websiteConfig, websiteMeta,
} from './fixtures';
import { fuzz, idbJunk, lsText, metadata, sqlProblem } from './fuzz';

const contexts = { global: makeCtx().ctx, none: makeCtx({ global: false }).ctx };
const ctxArb = fc.constantFrom(contexts.global, contexts.global, contexts.none);
beforeAll(() => metadata());

const rowsOf = (r: TransformResult) => Object.entries(r.rows ?? {}).flatMap(([t, rows]) => (rows ?? []).map((row) => ({ table: t as TableName, row })));
const parsed = (s: string): unknown => { try { return JSON.parse(s); } catch { return undefined; } };
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);

/** The checks every result must pass, whatever its kind. */
function checkResult(r: TransformResult, what: string): void {
  const rows = rowsOf(r);
  if (rows.length === 0 && r.ridesOn === undefined) {
    if (!['migrated', 'preserved', 'rejected'].includes(r.outcome as string)) throw new Error(`${what}: no rows and no outcome`);
    if (typeof r.reason !== 'string' || r.reason === '') throw new Error(`${what}: ${r.outcome} without rows and without a reason`);
  }
  if ((r.outcome === 'preserved' || r.outcome === 'rejected') && !r.reason) throw new Error(`${what}: ${r.outcome} without a reason`);
  if (r.reason?.startsWith('the entry could not be mapped')) throw new Error(`${what}: the transform threw: ${r.reason}`);
  for (const { table, row } of rows) {
    const problem = sqlProblem(table, row);
    if (problem) throw new Error(`${what}: a row Postgres would refuse (the page would fail): ${problem}`);
  }
  for (const rej of r.rejects ?? []) if (!rej.path && rej.path !== '' || !rej.code || !rej.reason) throw new Error(`${what}: a reject without path, code or reason`);
}

/** Element `i` of `list` at `prefix` is a row (`hasRow`) or a reject at its path. */
function accounted(list: unknown, prefix: string, r: TransformResult, hasRow: (el: unknown, i: number) => boolean): void {
  if (!Array.isArray(list)) return;
  // An entry refused or kept raw as a whole (no website to attach to, say) accounts for all its elements.
  if (r.outcome !== 'migrated' && r.outcome !== undefined && rowsOf(r).length === 0 && !r.rejects?.length) return;
  list.forEach((el, i) => {
    const path = `${prefix}[${i}]`;
    if (hasRow(el, i) || (r.rejects ?? []).some((rej) => under(rej.path, path))) return;
    throw new Error(`${path} became neither a row nor a reject`);
  });
}

const run = (entry: SourceEntry, ctx: TransformContext) => {
  const t = catalystLayout.transforms[catalystLayout.classify(entry)]!;
  const r = t(entry, ctx); // called bare: entryPhase's safeTransform must never be needed
  checkResult(r, entry.key as string);
  return r;
};
const bySource = (r: TransformResult, table: TableName) => new Set((r.rows?.[table] ?? []).map((row) => row.sourceId));

describe('per-entry transforms', () => {
  test('content types: every element a row, a reject or a stated merge', () => {
    fc.assert(fc.property(lsText(CONTENT_TYPES), ctxArb, (text, ctx) => {
      const r = run(ls('contentTypes', text), ctx);
      const merged = new Set(((r.notes?.contentTypeDuplicates ?? []) as { path: string }[]).map((d) => d.path));
      const ids = bySource(r, 'content_types');
      accounted(parsed(text), '', r, (el, i) => merged.has(`[${i}]`) || (isObj(el) && ids.has(el.id as string)));
    }), fcParams(300));
  });

  test('content items (Zustand envelope or bare array)', () => {
    const envelope = { state: { contentItems: CONTENT_ITEMS, projectId: 'default' }, version: 0 };
    fc.assert(fc.property(fc.oneof(lsText(envelope), lsText(CONTENT_ITEMS)), ctxArb, (text, ctx) => {
      const r = run(ls('content-storage', text), ctx);
      const v = parsed(text);
      const ids = bySource(r, 'content_items');
      const hasRow = (el: unknown) => isObj(el) && ids.has(el.id as string);
      if (Array.isArray(v)) accounted(v, '', r, hasRow);
      else if (isObj(v) && isObj(v.state)) accounted(v.state.contentItems, 'state.contentItems', r, hasRow);
    }), fcParams(300));
  });

  const contentSection = {
    id: 'main',
    pages: [{ id: 'page-home', title: 'Home', slug: 'home', content: '<h1>Welcome</h1>', metadata: { seo: true }, createdAt: new Date('2025-08-12T07:00:40.000Z'), updatedAt: new Date('2025-08-12T07:02:00.000Z') }],
    components: [{ id: 'c1', name: 'Hero', type: 'hero', props: { image: PNG_DATA_URL }, children: [] }],
    templates: [{ id: 't1', name: 'Landing', description: 'd', structure: {}, variables: ['x'] }],
  };
  test('website content and assets sections: every page, component, template and asset', () => {
    const assets = { id: 'main', images: ['https://images.example.com/logo.png', PNG_DATA_URL], videos: [], documents: ['data:,doc'] };
    const sectionOf = fc.oneof(
      fc.tuple(fc.constant('content'), fuzz(contentSection, idbJunk)),
      fc.tuple(fc.constant('assets'), fuzz(assets, idbJunk)),
    );
    fc.assert(fc.property(sectionOf, fc.constantFrom(WEBSITE_ID, 'default'), ctxArb, ([name, value], site, ctx) => {
      const r = run(section(site, name, value), ctx);
      if (!isObj(value) || r.outcome === 'preserved') return;
      const at = (table: TableName, pred: (row: Row) => boolean) => (r.rows?.[table] ?? []).some(pred);
      if (name === 'content') {
        for (const [key, table] of [['pages', 'website_pages'], ['components', 'website_components'], ['templates', 'website_templates']] as const) {
          accounted(value[key], key, r, (_el, i) => at(table, (row) => row.position === i));
        }
      } else {
        for (const [key, kind] of [['images', 'image'], ['videos', 'video'], ['documents', 'document']]) {
          accounted(value[key], key, r, (_el, i) => at('website_assets', (row) => row.kind === kind && row.position === i));
        }
      }
    }), fcParams(300));
  });

  test('deployment configs: every provider a row or a reject, and no secret in any reason or note', () => {
    fc.assert(fc.property(lsText(providerConfigs), ctxArb, (text, ctx) => {
      const r = run(ls('cms-provider-configs', text), ctx);
      const said = JSON.stringify([r.reason, r.rejects, r.notes]);
      for (const secret of [CONTENTFUL_KEY, STRAPI_KEY]) expect(said).not.toContain(secret);
      const v = parsed(text);
      if (!isObj(v) || r.outcome === 'rejected') return;
      const providers = new Set((r.rows?.deployment_configs ?? []).map((row) => row.provider));
      const unnamed = (r.rejects ?? []).filter((rej) => rej.path === 'provider id').length; // over-long ids are not echoed
      const missing = Object.keys(v).filter((p) => !providers.has(p) && !(r.rejects ?? []).some((rej) => under(rej.path, p)));
      expect(missing.length).toBeLessThanOrEqual(unnamed);
    }), fcParams(300));
  });

  test('deployment history (array or {deployments}): every job a row or a reject', () => {
    const newer = { ...oldJob, id: 'deploy-2', websiteId: WEBSITE_ID, integrationId: 'i1', providerId: 'mock' };
    fc.assert(fc.property(fc.oneof(lsText([oldJob, newer]), lsText({ deployments: [oldJob], lastUpdated: '2025-08-12T08:00:00.000Z' })), ctxArb, (text, ctx) => {
      const r = run(ls('deployment-history', text), ctx);
      const v = parsed(text);
      const ids = bySource(r, 'deployment_history');
      const hasRow = (el: unknown) => isObj(el) && ids.has(el.id as string);
      if (Array.isArray(v)) accounted(v, '', r, hasRow);
      else if (isObj(v)) accounted(v.deployments, 'deployments', r, hasRow);
    }), fcParams(300));
  });
});

/** A group's results: one per input entry, each passing checkResult. */
function runGroup(kind: 'website' | 'chat' | 'preference', entries: SourceEntry[], ctx: TransformContext): Map<number, TransformResult> {
  const out = catalystLayout.groupTransforms[kind]!.run(entries, ctx);
  for (const e of entries) {
    const r = out.get(e.seq);
    if (!r) throw new Error(`no result for entry ${e.seq}`);
    checkResult(r, `${e.area}:${String(e.key)}`);
  }
  return out;
}

describe('group transforms', () => {
  test('websites: metadata and config merge into one row; each entry has its outcome', () => {
    const meta = fuzz(websiteMeta(), idbJunk);
    const config = fuzz(websiteConfig(), idbJunk);
    fc.assert(fc.property(fc.option(meta), fc.option(config), fc.constantFrom(WEBSITE_ID, 'default', 'x'.repeat(300)), ctxArb, (m, c, site, ctx) => {
      const entries = [
        ...(m !== null ? [idb('catalyst_global', 'websites', site, m)] : []),
        ...(c !== null ? [section(site, 'config', c)] : []),
      ];
      if (entries.length) runGroup('website', entries, ctx);
    }), fcParams(300));
  });

  test('AI data: AI context history, chat messages and prompts', () => {
    const prompt = { original: 'Create a coffee shop', processed: { websiteName: 'Coffee Shop' }, timestamp: 1754981234999 };
    const chatValue = fc.oneof(lsText(persistedChat), fuzz(persistedChat, idbJunk));
    fc.assert(fc.property(fuzz(aiContext(), idbJunk), chatValue, fc.option(lsText(storageMetadata)), lsText(prompt), ctxArb, (context, chat, chatMeta, promptText, ctx) => {
      const ai = section(WEBSITE_ID, 'ai_context', context);
      const chatEntry = idb('catalyst-studio', 'persistence', 'catalyst:chat:default', chat);
      const entries = [ai, chatEntry, ss(`ai_prompt_${WEBSITE_ID}`, promptText), ...(chatMeta !== null ? [ls('catalyst:metadata:default', chatMeta)] : [])];
      const out = runGroup('chat', entries, ctx);
      const rows = { ...Object.fromEntries([...out.values()].flatMap((r) => Object.entries(r.rows ?? {}))) } as Partial<Record<TableName, Row[]>>;
      const aiResult = out.get(ai.seq)!;
      if (isObj(context) && aiResult.outcome !== 'preserved' && aiResult.outcome !== 'rejected') {
        accounted(context.history, 'history', aiResult, (_el, i) => (rows.ai_history_entries ?? []).some((row) => row.position === i));
      }
      const chatResult = out.get(chatEntry.seq)!;
      const c = typeof chat === 'string' ? parsed(chat) : chat;
      if (chatResult.outcome === 'migrated' && isObj(c)) {
        accounted(c.messages, 'messages', chatResult, (_el, i) => (rows.chat_messages ?? []).some((row) => row.position === i));
      }
    }), fcParams(300));
  });

  test('preferences: every preference entry migrated into the one row, or rejected with its reason', () => {
    const navigation = { expandedSections: ['content'], activeView: 'content', searchQuery: '', lastVisited: { overview: '/overview' } };
    const projectContext = { currentStage: 'planning', conversationMetadata: { lastActivity: '2025-08-12T08:10:00.000Z', messageCount: 4 } };
    const entry = fc.oneof(
      lsText(navigation).map((v) => ls('catalyst-navigation-state', v)),
      lsText(previewSettings).map((v) => ls('preview-settings', v)),
      lsText(previewSettings).map((v) => ls('previewSettings', v)),
      lsText(projectContext).map((v) => ls('project-context', v)),
      lsText(true).map((v) => ls('catalyst-sidebar-collapsed', v)),
      fc.constantFrom('compact', '"cozy"', '').map((v) => ls('dashboard-density', v)),
    );
    fc.assert(fc.property(fc.array(entry, { minLength: 1, maxLength: 5 }), ctxArb, (entries, ctx) => {
      runGroup('preference', entries, ctx);
    }), fcParams(300));
  });
});
