/**
 * The generic phase: page through this phase's pending entries, transform them (pure, per entry or as a
 * group) and apply the results, one transaction per page. Resumable: a retry continues at the first
 * entry still 'pending'; idempotent: rows are upserted by deterministic id.
 */
import { assetUrl } from '../../core/assets';
import { rowId } from '../../core/ids';
import { jsonTextTooDeep, MAX_SLICED_VALUE_NODES, MAX_VALUE_DEPTH } from '../../format';
import type { MigrationBatch } from '../../entities';
import type { EntryTransform } from '../transforms/layout';
import { isStorableDate, type EntryKind, type TransformContext, type TransformResult } from '../transforms/types';
import { applyResults } from './applyResults';
import type { PhaseRun } from './context';
import { decodeStaged, entrySize, nextPendingPage, PAGE_NODES, pendingBySeq, planBucketPages, type EntrySize, type StagedEntry } from './staged';

/** `override` replaces the layout's transforms (the preserve phase keeps whatever is left raw). */
export async function runEntryPhase(run: PhaseRun, kinds: readonly EntryKind[], override?: EntryTransform): Promise<void> {
  const { deps, batch } = run;
  const layout = run.layout;
  const total = await countEntries(run, kinds);
  const group = override ? undefined : kinds.map((k) => layout.groupTransforms[k]).find(Boolean);
  await run.progress(total.done, total.all, total.rejected);
  const ctx = await transformContext(run);
  // A group with buckets is paged a bucket-set at a time; one without gets all its entries at once.
  const bucketOf = group?.bucketOf;
  const plan = group && bucketOf
    ? await planBucketPages(deps.ds, batch.id, group.kinds, (s) => {
        try {
          const e = decodeStaged(s, deps.secrets, batch.id);
          return { bucket: bucketOf(e), nodes: entrySize(e).nodes };
        } catch {
          return { bucket: `undecodable:${s.seq}`, nodes: 0 }; // rejected alone on its page
        }
      })
    : null;
  let after = -1;
  for (let planned = 0; ; planned++) {
    const page = await deps.ds.transaction(async (m) => {
      let staged;
      if (plan) {
        if (planned >= plan.length) return null;
        staged = await pendingBySeq(m, batch.id, plan[planned]);
        if (staged.length === 0) return { last: after }; // already done by an earlier run
      } else {
        staged = await nextPendingPage(m, batch.id, group ? group.kinds : kinds, after, Boolean(group));
        if (staged.length === 0) return null;
      }
      const results = new Map<number, TransformResult>();
      const entries: StagedEntry[] = [];
      for (const s of staged) {
        try {
          entries.push(decodeStaged(s, deps.secrets, batch.id));
        } catch (err) {
          entries.push({ ...s, key: null, value: null });
          results.set(s.seq, { outcome: 'rejected', reason: `the entry could not be decoded: ${(err as Error).message}` });
        }
      }
      // A page maps at most PAGE_NODES values (a group's pages were packed so, or it is one page): the
      // entries past that wait for the next page, and an entry larger than a page is kept raw.
      let nodes = 0;
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        if (results.has(e.seq)) continue;
        const size = entrySize(e);
        if (!group && i > 0 && nodes + size.nodes > PAGE_NODES) {
          entries.length = i;
          break;
        }
        nodes += size.nodes;
        const raw = unmappable(e, size);
        if (raw) results.set(e.seq, raw);
      }
      const decodable = entries.filter((e) => !results.has(e.seq));
      if (group) for (const [seq, r] of group.run(decodable, ctx)) results.set(seq, r);
      else
        for (const e of decodable) {
          const t = override ?? layout.transforms[e.kind];
          results.set(e.seq, t ? safeTransform(() => t(e, ctx)) : { outcome: 'preserved', reason: `no mapping for kind ${e.kind}` });
        }
      // The decoded values are the transforms' input only (applyResults keeps `raw` for preserved rows):
      // released before the writes, which for a 200,000-item entry is ~100 MB of text.
      for (const e of entries) e.value = null;
      await applyResults(m, run, entries, results);
      return { last: entries[entries.length - 1].seq };
    });
    if (!page) break;
    after = page.last;
    // Counted, not summed: another run of this phase may apply pages too (applyResults), and a retry
    // resumes with the rejects of its earlier attempts already there.
    const now = await countEntries(run, kinds);
    await run.progress(now.done, now.all, now.rejected);
  }
}

/**
 * An entry a transform should not see, kept raw instead (preserved_entries holds the staged text; nothing
 * walks it): a string value holding JSON nested deeper than the format lets a structured value nest, or an
 * entry holding more values and keys than `maxNodes`, by default one page's worth (PAGE_NODES). Transforms
 * parse such a text and recurse over it, and make rows and rejects per element. Large entries of a sliced
 * kind are split into slices instead (jobs/phases/slices.ts), which allow MAX_SLICED_VALUE_NODES.
 */
export function unmappable(e: StagedEntry, size: EntrySize = entrySize(e), maxNodes: number = PAGE_NODES): TransformResult | null {
  if (size.nodes > maxNodes) {
    const name = maxNodes === MAX_SLICED_VALUE_NODES ? 'MAX_SLICED_VALUE_NODES' : 'PAGE_NODES';
    return {
      outcome: 'preserved',
      reason: `its value, read as JSON, holds more than ${maxNodes.toLocaleString('en-US')} values and object keys (${name}), too large to map: kept raw`,
    };
  }
  // Text that only looks deep is not JSON (it would not parse), so not too deep either (bounds.ts jsonTextTooDeep).
  return size.depth > MAX_VALUE_DEPTH && typeof e.value === 'string' && jsonTextTooDeep(e.value) ? TOO_DEEP : null;
}
const TOO_DEEP: TransformResult = {
  outcome: 'preserved',
  reason: `its value is JSON nested more than ${MAX_VALUE_DEPTH} levels deep (MAX_VALUE_DEPTH), too deep to map: kept raw`,
};

/** A transform that throws on odd input rejects its entry with the reason instead of failing the phase. */
function safeTransform(f: () => TransformResult): TransformResult {
  try {
    return f();
  } catch (err) {
    return { outcome: 'rejected', reason: `the entry could not be mapped: ${(err as Error).message}` };
  }
}

async function countEntries(run: PhaseRun, kinds: readonly EntryKind[]) {
  const [r] = await run.deps.ds.query(
    `SELECT count(*)::int AS all, count(*) FILTER (WHERE outcome <> 'pending')::int AS done,
            (SELECT count(*)::int FROM batch_rejects WHERE batch_id = $1 AND phase = $3) AS rejected
     FROM dump_entries WHERE batch_id = $1 AND kind = ANY($2)`,
    [run.batch.id, kinds, run.phase],
  );
  return { all: r.all as number, done: r.done as number, rejected: r.rejected as number };
}


export async function transformContext(run: PhaseRun): Promise<TransformContext> {
  const { deps } = run;
  const [fresh] = await deps.ds.query(`SELECT notes FROM migration_batches WHERE id = $1`, [run.batch.id]);
  return buildTransformContext(run.batch, (fresh?.notes ?? {}) as BatchNotes, deps);
}

/**
 * Notes a run's phases write and its later phases read back (buildTransformContext): the content types'
 * aliases. A rollback removes them with the run's rows, so that a re-applied run computes them afresh
 * instead of its contentTypes phase reading the last run's (globalWebsite is chosen again before use).
 */
export const RUN_DERIVED_NOTES = ['contentTypeAliases'] as const;

export interface BatchNotes {
  globalWebsite?: { id: string; sourceId: string; rule: string };
  contentTypeAliases?: Record<string, string>;
  [k: string]: unknown;
}

export function buildTransformContext(batch: MigrationBatch, notes: BatchNotes, deps: PhaseRun['deps']): TransformContext {
  const userId = batch.userId;
  const aliases = notes.contentTypeAliases ?? {};
  // Every content item names its content type (and many rows their website): a few distinct ids asked for
  // hundreds of thousands of times, so each is computed once.
  const contentTypeIds = memo((src: string) => rowId(userId, 'content_type', Object.hasOwn(aliases, src) ? aliases[src] : src));
  const websiteIds = memo((src: string) => rowId(userId, 'website', src));
  return {
    userId,
    id: (kind, ...source) => rowId(userId, kind, ...source),
    websiteId: websiteIds,
    globalWebsite: notes.globalWebsite ?? null,
    contentTypeId: contentTypeIds,
    seal: (plain, aad) => deps.secrets.seal(plain, aad),
    assetUrl: (sha) => assetUrl(deps.config, sha),
    capturedAt: capturedAtOf(batch),
  };
}

/** `f` with its results kept, up to MEMO_MAX distinct arguments (a dump naming more is computed as it goes). */
const MEMO_MAX = 10_000;
function memo(f: (key: string) => string): (key: string) => string {
  const kept = new Map<string, string>();
  return (key) => {
    let v = kept.get(key);
    if (v === undefined) {
      v = f(key);
      if (kept.size < MEMO_MAX) kept.set(key, v);
    }
    return v;
  };
}

function capturedAtOf(batch: MigrationBatch): Date {
  const at = typeof batch.source?.capturedAt === 'string' ? new Date(batch.source.capturedAt) : null;
  return at && isStorableDate(at) ? at : batch.createdAt;
}
