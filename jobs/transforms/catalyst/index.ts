/**
 * The Catalyst Studio layout (docs/catalyst-layout.md, code at `159405a`/`cea2459`, plus the Appendix A keys
 * of the later app), in the shape of ../layout.ts. Pure: no I/O, deterministic (only `ctx.seal` is
 * randomised, by its IV).
 *
 * Shape of `catalystLayout` (registered as `catalyst` in jobs/layouts.ts, the default):
 *  - `kinds`, `tables` (parents first) and `phases` (websites … deploymentHistory): ./kinds.ts;
 *  - `classify(entry)` → CatalystKind; `secretKinds` = SECRET_KINDS (sealed at rest); 'unknown' → kept raw.
 *  - `transforms[kind](entry, ctx)` → TransformResult, for kinds whose entries stand alone.
 *  - `groupTransforms[kind] = {kinds, run}` for kinds where several entries build ONE row (rows are
 *    upserted whole, so per-entry transforms would overwrite each other's columns):
 *      website + website-config   → one `websites` row per source website id (mergeWebsite)
 *      chat (catalyst:chat: + catalyst:metadata:, every area) → one chat_sessions row per session id
 *      preference                 → the one user_preferences row
 *    `run(entries, ctx)` gets every pending entry of `kinds` and returns a result per entry seq; the
 *    shared rows ride on ONE of the entries (the one that owns them: metadata before config, the chosen
 *    chat copy, the first migrated preference). Grouped kinds are deliberately NOT in `transforms`:
 *    a silent per-entry fallback would clobber rows; without a group they are preserved raw.
 *    The pipeline picks the first group among a phase's kinds and fetches only `group.kinds`, so the
 *    chat group also covers 'website-ai-context' and 'ai-prompt' (the rest of the aiData phase), per entry.
 *  - Dependencies: websites first (`ctx.globalWebsite`), then content types (`notes.contentTypeAliases`
 *    feed `ctx.contentTypeId`; `contentTypeAliases(entry)` computes them directly). References that may
 *    not exist (ai_prompts.websiteId, deployment_history.websiteId/deploymentConfigId) are set and the
 *    pipeline nulls them when the target row is missing.
 */
import type { EntryTransform, GroupTransform, GroupTransformSpec, Layout } from '../layout';
import type { SourceEntry, TransformContext, TransformResult } from '../types';
import { transformAiContext, transformAiPrompt } from './aiData';
import { chatSessionIdOf, mergeChatGroup } from './chat';
import { classify, parseSectionDb, SECRET_KINDS } from './classify';
import { CATALYST_KINDS, CATALYST_PHASES, CATALYST_TABLES } from './kinds';
import { sliced as contentItemsSliced, transform as transformContentItems } from './contentItems';
import { transform as transformContentTypes } from './contentTypes';
import { transformConfigs, transformHistory } from './deployments';
import { mergePreferencesGroup } from './preferences';
import type { GroupResult } from './util';
import { transformAssets, transformContent } from './websiteStorage';
import { mergeWebsite, mergeWebsiteGroup, websiteSourceIdOf } from './websites';

/** A thrown error rejects the entries it concerns instead of failing the phase (as entryPhase does per entry). */
function guarded(entries: SourceEntry[], f: () => GroupResult): GroupResult {
  try {
    return f();
  } catch (err) {
    const reason = `the entry could not be mapped: ${(err as Error).message}`;
    return { result: {}, outcomes: entries.map((e) => ({ seq: e.seq, outcome: 'rejected', reason })) };
  }
}

/**
 * GroupResult → one TransformResult per entry. The shared rows, blobs and notes go to the first
 * 'migrated' outcome; an entry the merge said nothing about is preserved raw (never silently lost).
 */
export function perEntry(entries: SourceEntry[], g: GroupResult): Map<number, TransformResult> {
  const out = new Map<number, TransformResult>();
  const owner = g.outcomes.find((o) => o.outcome === 'migrated')?.seq;
  for (const o of g.outcomes) {
    const r: TransformResult = { outcome: o.outcome, rejects: o.rejects ?? [] };
    if (o.reason) r.reason = o.reason;
    if (o.seq === owner) Object.assign(r, { rows: g.result.rows, blobs: g.result.blobs, notes: g.result.notes });
    else if (o.outcome === 'migrated' && owner !== undefined) r.ridesOn = owner;
    out.set(o.seq, r);
  }
  for (const e of entries) if (!out.has(e.seq)) out.set(e.seq, { outcome: 'preserved', reason: 'the group mapping did not use this entry: kept raw' });
  return out;
}

/** Entries bucketed by `key`, in first-seen order (deterministic for a given input order). */
function buckets(entries: SourceEntry[], key: (e: SourceEntry) => string): SourceEntry[][] {
  const m = new Map<string, SourceEntry[]>();
  for (const e of entries) m.set(key(e), [...(m.get(key(e)) ?? []), e]);
  return [...m.values()];
}

function byBucket(entries: SourceEntry[], key: (e: SourceEntry) => string, merge: (b: SourceEntry[], ctx: TransformContext) => GroupResult, ctx: TransformContext) {
  const out = new Map<number, TransformResult>();
  for (const b of buckets(entries, key)) for (const [seq, r] of perEntry(b, guarded(b, () => merge(b, ctx)))) out.set(seq, r);
  return out;
}

const websitesRun: GroupTransform = (entries, ctx) => byBucket(entries, (e) => websiteSourceIdOf(e) ?? '', mergeWebsiteGroup, ctx);

/** The aiData phase: chat grouped by session id; AI contexts and prompts one by one. */
const aiRun: GroupTransform = (entries, ctx) => {
  const single = (e: SourceEntry, t: EntryTransform): GroupResult =>
    guarded([e], () => {
      const r = t(e, ctx);
      return { result: r, outcomes: [{ seq: e.seq, outcome: r.outcome ?? 'migrated', reason: r.reason, rejects: r.rejects }] };
    });
  const out = byBucket(entries.filter((e) => classify(e) === 'chat'), (e) => chatSessionIdOf(e) ?? '', mergeChatGroup, ctx);
  for (const e of entries) {
    const kind = classify(e);
    if (kind === 'chat') continue;
    const t = kind === 'website-ai-context' ? transformAiContext : kind === 'ai-prompt' ? transformAiPrompt : undefined;
    const g = t ? single(e, t) : { result: {}, outcomes: [{ seq: e.seq, outcome: 'preserved' as const, reason: `no ${kind} mapping in the aiData group: kept raw` }] };
    for (const [seq, r] of perEntry([e], g)) out.set(seq, r);
  }
  return out;
};

const preferencesRun: GroupTransform = (entries, ctx) => perEntry(entries, guarded(entries, () => mergePreferencesGroup(entries, ctx)));

// The buckets are the ones each run groups by, so paging by bucket changes nothing in the result.
const WEBSITES: GroupTransformSpec = { kinds: ['website', 'website-config'], run: websitesRun, bucketOf: (e) => websiteSourceIdOf(e) ?? '' };
const AI: GroupTransformSpec = {
  kinds: ['website-ai-context', 'chat', 'ai-prompt'],
  run: aiRun,
  bucketOf: (e) => (classify(e) === 'chat' ? `chat:${chatSessionIdOf(e) ?? ''}` : `entry:${e.seq}`),
};

export const catalystLayout: Layout = {
  name: 'catalyst',
  kinds: CATALYST_KINDS,
  classify,
  secretKinds: SECRET_KINDS,
  tables: CATALYST_TABLES,
  phases: CATALYST_PHASES,
  transforms: {
    'content-types': transformContentTypes,
    'content-items': transformContentItems,
    'website-content': transformContent,
    'website-assets': transformAssets,
    'deployment-configs': transformConfigs,
    'deployment-history': transformHistory,
  },
  groupTransforms: {
    website: WEBSITES,
    'website-config': WEBSITES,
    'website-ai-context': AI,
    chat: AI,
    'ai-prompt': AI,
    preference: { kinds: ['preference'], run: preferencesRun },
  },
  // All of a user's content items sit in ONE localStorage value: a large one is mapped and written in slices.
  slicedTransforms: { 'content-items': contentItemsSliced },
};

/**
 * A website known only from its content/assets/ai_context databases still gets a row (§2.11). Used by the
 * websites phase (jobs/phases/catalyst/websites.ts): rows for `websites`, given the section databases' names.
 */
export function websitesForSections(dbNames: string[], ctx: TransformContext): TransformResult {
  const ids = [...new Set(dbNames.map((n) => parseSectionDb(n)?.websiteSourceId).filter((id): id is string => Boolean(id)))];
  const rows = ids.flatMap((id) => mergeWebsite(null, null, id, ctx, {}).rows?.websites ?? []);
  return { rows: { websites: rows } };
}

export { classify, parseSectionDb, parseChatKey, parseAiPromptKey, SECRET_KINDS } from './classify';
export { toDate, unknownDate } from './dates';
export { CATALYST_KINDS, CATALYST_PHASES, CATALYST_TABLES, GLOBAL_KINDS, SECTION_KINDS, type CatalystKind, type CatalystTable } from './kinds';
export { mergeWebsite, mergeWebsiteGroup } from './websites';
export { mergeChatSession, mergeChatGroup } from './chat';
export { buildPreferences, preferenceOutcomes } from './preferences';
export { contentTypeAliases } from './contentTypes';
export type { EntryOutcome, GroupResult } from './util';
