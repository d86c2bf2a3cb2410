/**
 * A user's cutover state (docs/cutover.md), computed from their batches — never from a flag a page could
 * lose: the latest snapshot batch and the deltas of its chain decide whether the app should use browser
 * storage, send its delta, or use the API. Per layout: an app's client follows the batches of its own
 * layout (a generic-layout snapshot of the same user is another app's data, not this app's cutover).
 */
import type { DataSource, EntityManager } from 'typeorm';

export type CutoverMode = 'browser' | 'migrating' | 'ready' | 'switching' | 'api';

export interface CutoverState {
  mode: CutoverMode;
  /** Why `browser` (not_migrated, rolled_back, snapshot_failed, snapshot_needs_attention), `ready` after a failed delta, or `switching` while a delta needs attention. */
  reason: string | null;
  snapshotBatchId: string | null;
  /** The chain's latest completed batch: the base of the next delta. */
  latestBatchId: string | null;
  latestStatus: string | null;
  deltaBatchIds: string[];
  switchedAt: string | null;
  /** Where the app's global data (content types and items…) lives in the data API. */
  globalWebsite: { id: string; sourceId: string } | null;
}

const ACTIVE = ['received', 'queued', 'running'];
const UNDONE = ['rolling_back', 'rolled_back'];

interface BatchRow { id: string; status: string; finished_at: string | null; notes: { globalWebsite?: { id: string; sourceId: string } } }

export async function cutoverState(db: DataSource | EntityManager, userId: string, layout: string): Promise<CutoverState> {
  const [snap]: BatchRow[] = await db.query(
    `SELECT id, status, finished_at, notes FROM migration_batches WHERE user_id = $1 AND kind = 'snapshot' AND layout = $2 ORDER BY created_at DESC, id DESC LIMIT 1`,
    [userId, layout],
  );
  const state: CutoverState = { mode: 'browser', reason: 'not_migrated', snapshotBatchId: null, latestBatchId: null, latestStatus: null, deltaBatchIds: [], switchedAt: null, globalWebsite: null };
  if (!snap) return state;
  const deltas: BatchRow[] = await db.query(
    `SELECT id, status, finished_at, notes FROM migration_batches WHERE root_batch_id = $1 ORDER BY created_at, id`,
    [snap.id],
  );
  const chain = [snap, ...deltas];
  const applied = chain.filter((b) => b.status === 'completed');
  const latest = applied[applied.length - 1] ?? null;
  const last = chain[chain.length - 1];
  Object.assign(state, {
    snapshotBatchId: snap.id,
    latestBatchId: latest?.id ?? null,
    latestStatus: last.status,
    deltaBatchIds: deltas.map((d) => d.id),
    globalWebsite: pick((latest ?? snap).notes?.globalWebsite),
    reason: null,
  });
  if (UNDONE.includes(snap.status) || UNDONE.includes(last.status)) return { ...state, mode: 'browser', reason: 'rolled_back' };
  if (ACTIVE.includes(snap.status)) return { ...state, mode: 'migrating' };
  if (snap.status !== 'completed') return { ...state, mode: 'browser', reason: `snapshot_${snap.status}` };
  if (deltas.length === 0) return { ...state, mode: 'ready' };
  if (ACTIVE.includes(last.status)) return { ...state, mode: 'switching' };
  // A delta whose verification found problems is applied but not trusted: the client keeps holding its
  // writes (nothing is lost) until an admin verifies it again (→ api) or rolls it back (→ browser).
  if (last.status === 'needs_attention') return { ...state, mode: 'switching', reason: 'delta_needs_attention' };
  if (last.status === 'completed') return { ...state, mode: 'api', switchedAt: last.finished_at ? new Date(last.finished_at).toISOString() : null };
  return { ...state, mode: 'ready', reason: `delta_${last.status}` };
}

const pick = (g: { id: string; sourceId: string } | undefined) => (g ? { id: g.id, sourceId: g.sourceId } : null);
