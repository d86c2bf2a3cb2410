/**
 * The whole Catalyst layout over one constructed dump (docs/catalyst-layout.md §3), driven the way the
 * pipeline drives it (jobs/phases/entryPhase.ts): one group per phase when the layout has one, else the
 * per-entry transform; unknown kinds are left to the preserve phase.
 */
import { catalystLayout } from '../../jobs/transforms/catalyst';
import type { EntryKind, SourceEntry, TransformContext, TransformResult } from '../../jobs/transforms/types';
import {
  aiContext, blogPostType, CONTENTFUL_KEY, contentStorage, idb, ls, makeCtx, oldJob, persistedChat, PNG_DATA_URL, previewSettings,
  providerConfigs, section, ss, STRAPI_KEY, storageMetadata, WEBSITE_ID, websiteConfig, websiteMeta,
} from './fixtures';

const PHASES: EntryKind[][] = [
  ['website', 'website-config'], ['content-types'], ['content-items'], ['website-content', 'website-assets'],
  ['website-ai-context', 'chat', 'ai-prompt'], ['preference'], ['deployment-configs'], ['deployment-history'],
];

function dump(): SourceEntry[] {
  return [
    idb('catalyst_global', 'websites', WEBSITE_ID, websiteMeta()),
    section(WEBSITE_ID, 'config', websiteConfig()),
    section(WEBSITE_ID, 'content', { id: 'main', pages: [{ id: 'p', title: 'Home', slug: 'home', content: 'a\u0000b', createdAt: new Date(1), updatedAt: new Date(2) }], components: [], templates: [] }),
    section(WEBSITE_ID, 'assets', { id: 'main', images: [PNG_DATA_URL], videos: [], documents: [] }),
    section(WEBSITE_ID, 'ai_context', aiContext()),
    section('default', 'config', { id: 'main', settings: {}, metadata: {} }),
    idb('catalyst-studio', 'persistence', 'catalyst:chat:default', JSON.stringify(persistedChat)),
    idb('catalyst-studio', 'persistence', 'catalyst:metadata:default', JSON.stringify(storageMetadata)),
    ls('contentTypes', JSON.stringify([blogPostType])),
    ls('content-storage', JSON.stringify(contentStorage)),
    ls('preview-settings', JSON.stringify(previewSettings)),
    ls('previewSettings', JSON.stringify(previewSettings)),
    ls('dashboard-density', 'compact'),
    ls('cms-provider-configs', JSON.stringify(providerConfigs)),
    ls('deployment-history', JSON.stringify([oldJob])),
    ls('catalyst_migration_version', '2.0.0'),
    ss(`ai_prompt_${WEBSITE_ID}`, JSON.stringify({ original: 'Create a coffee shop', timestamp: 1754981234999 })),
  ];
}

function run(entries: SourceEntry[], ctx: TransformContext): Map<number, TransformResult> {
  const out = new Map<number, TransformResult>();
  const kindOf = new Map(entries.map((e) => [e.seq, catalystLayout.classify(e)]));
  for (const kinds of PHASES) {
    const group = kinds.map((k) => catalystLayout.groupTransforms[k]).find(Boolean);
    const mine = entries.filter((e) => (group ? group.kinds : kinds).includes(kindOf.get(e.seq)!));
    if (group) for (const [seq, r] of group.run(mine, ctx)) out.set(seq, r);
    else for (const e of mine) out.set(e.seq, catalystLayout.transforms[kindOf.get(e.seq)!]!(e, ctx));
  }
  return out;
}

describe('catalystLayout over a whole dump', () => {
  test('every mapped entry gets a result; only the unknown one is left for the preserve phase', () => {
    const entries = dump();
    const out = run(entries, makeCtx().ctx);
    const missing = entries.filter((e) => !out.has(e.seq)).map((e) => e.key);
    expect(missing).toEqual(['catalyst_migration_version']);
    const outcome = (key: string) => out.get(entries.find((e) => e.key === key || e.dbName === key)!.seq)!.outcome ?? 'migrated';
    expect(outcome('website_default_config')).toBe('preserved');
    for (const [seq, r] of out) if (seq !== entries.find((e) => e.dbName === 'website_default_config')!.seq) expect(r.outcome ?? 'migrated').toBe('migrated');
  });

  test('deterministic: same input → same output', () => {
    const ctx = makeCtx({ deterministicSeal: true }).ctx;
    const a = run(dump(), ctx);
    const b = run(dump(), ctx);
    // seqs differ between the two dumps; ridesOn points at a seq, so compare it by position instead
    const norm = (m: typeof a) => { const seqs = [...m.keys()]; return [...m.values()].map((r) => ({ ...r, ridesOn: r.ridesOn === undefined ? undefined : seqs.indexOf(r.ridesOn) })); };
    expect(norm(b)).toEqual(norm(a));
  });

  test('no secret anywhere in rows, notes or rejects', () => {
    const text = JSON.stringify([...run(dump(), makeCtx().ctx).values()]);
    expect(text).not.toContain(CONTENTFUL_KEY);
    expect(text).not.toContain(STRAPI_KEY);
  });

  test('row ids are unique per table across the dump', () => {
    const byTable = new Map<string, string[]>();
    for (const r of run(dump(), makeCtx().ctx).values()) for (const [t, rows] of Object.entries(r.rows ?? {})) byTable.set(t, [...(byTable.get(t) ?? []), ...rows!.map((x) => x.id)]);
    for (const [t, ids] of byTable) expect([t, new Set(ids).size]).toEqual([t, ids.length]);
    expect(byTable.get('websites')).toHaveLength(1);
  });

  test('grouped kinds have no per-entry transform (it would overwrite shared rows)', () => {
    for (const k of ['website', 'website-config', 'chat', 'preference'] as EntryKind[]) {
      expect(catalystLayout.transforms[k]).toBeUndefined();
      expect(catalystLayout.groupTransforms[k]).toBeDefined();
    }
  });
});
