/**
 * Large entries of a sliceable kind (Layout.slicedTransforms; Catalyst's `content-storage` holds every content
 * item in ONE localStorage value) are not mapped and written by their phase job alone:
 *
 *  1. the phase job decodes such an entry once, splits its element list (SlicedTransform.split) into slices
 *     of about SLICE_ELEMENTS elements (and about PAGE_NODES values at most), elements with one key in one
 *     slice and in their order, stages them in `entry_slices` and queues one slice job each; then it waits
 *     (delayed, woken by the last slice);
 *  2. slice jobs, on any worker, map their elements (SlicedTransform.map) and write them through the one
 *     write path (applySlice: journal, upsert, checksums, rejects), each in its own transaction under the
 *     user's row lock in SHARED mode: the slices of one entry write disjoint rows, side by side, while every
 *     other writer of the user's rows still excludes them all;
 *  3. once every slice is done, the phase job settles the entry (its outcome and result from the slices'
 *     totals, exactly as the whole-entry mapping would have) and goes on with its other entries.
 *
 * Entries are sliced one at a time, in seq order: slices of two entries could hold the same row.
 * A slice job that fails for good marks its slice `failed` and wakes the phase job, which fails the phase
 * with the reason; a retry of the phase queues the failed slices again under a new generation.
 */
import { randomUUID } from 'node:crypto';
import { UnrecoverableError, type Job } from 'bullmq';
import type { EntityManager } from 'typeorm';
import { writeResult } from '../../core/db';
import { sliceDuration } from '../../core/metrics';
import { escapeLoneSurrogates, MAX_SLICED_VALUE_NODES, printableText } from '../../format';
import { MigrationBatch } from '../../entities';
import type { SlicedTransform } from '../transforms/layout';
import type { TransformContext, TransformResult } from '../transforms/types';
import { BatchRolledBack, lockForBatchWrite } from '../write/userLock';
import { sliceJobId, type JobPayloads } from '../names';
import { applyResults, applySlice, mergeNotes, type SliceTotals } from './applyResults';
import type { PhaseDeps, PhaseRun } from './context';
import { transformContext, unmappable } from './entryPhase';
import { decodeStaged, entrySize, PAGE_NODES, readStagedEntry, type StagedEntry } from './staged';

/** Thrown by a phase whose entry's slices are still running: runPhase delays the job (woken by the last slice). */
export class WaitForSlices extends Error {
  constructor(readonly seq: number, readonly pending: number) {
    super(`waiting for ${pending} slice(s) of entry #${seq}`);
  }
}

/** How long a waiting phase job sleeps at most before it checks its slices again (the last slice wakes it sooner). */
export const SLICE_RECHECK_MS = 2000;

interface SliceRow {
  slice: number;
  slice_count: number;
  key_hash: number;
  status: 'pending' | 'done' | 'failed';
  generation: number;
  result: SliceTotals | null;
  error: string | null;
  notes: Record<string, unknown>;
  element_count: number;
}

/**
 * Settles this phase's large entries of sliceable kinds, one at a time; throws WaitForSlices while one's
 * slices run. Entries it finds not worth slicing (no element list, or few elements) are applied whole here.
 * Afterwards only entries below SLICE_MIN_BYTES (or of kinds without a sliced transform) are pending.
 */
export async function settleLargeEntries(run: PhaseRun, kinds: readonly string[]): Promise<void> {
  const { deps, batch, layout } = run;
  const sliceable = kinds.filter((k) => layout.slicedTransforms?.[k] && !layout.secretKinds.includes(k));
  if (sliceable.length === 0 || !deps.queue) return;
  for (let after = -1; ;) {
    const [next]: { seq: number; kind: string }[] = await deps.ds.query(
      `SELECT seq, kind FROM dump_entries
       WHERE batch_id = $1 AND kind = ANY($2) AND outcome = 'pending' AND value_bytes >= $3 AND seq > $4 ORDER BY seq LIMIT 1`,
      [batch.id, sliceable, deps.config.SLICE_MIN_BYTES, after],
    );
    if (!next) return;
    after = next.seq;
    const slices: SliceRow[] = await deps.ds.query(
      `SELECT slice, slice_count, key_hash, status, generation, result, error, notes, element_count FROM entry_slices WHERE batch_id = $1 AND seq = $2 ORDER BY slice`,
      [batch.id, next.seq],
    );
    if (slices.length === 0 || slices.length < slices[0].slice_count) {
      // Not split yet, or a split cut short (its job died): the missing slices, with the recorded partition.
      const recorded = slices[0] && { count: slices[0].slice_count, keyHash: slices[0].key_hash };
      const staged = await splitEntry(run, next.seq, layout.slicedTransforms![next.kind]!, recorded);
      if (staged === 0) continue; // applied whole
      throw new WaitForSlices(next.seq, staged);
    }
    const failed = slices.filter((s) => s.status === 'failed');
    if (failed.length > 0) {
      // A run that waited for them reports the failure; a new attempt (BullMQ's, or an admin's retry) runs them again.
      if (run.resumed) {
        throw new UnrecoverableError(`slice ${failed[0].slice} of entry #${next.seq} failed: ${failed[0].error ?? 'unknown error'}`);
      }
      await deps.ds.query(
        `UPDATE entry_slices SET status = 'pending', generation = generation + 1, error = NULL WHERE batch_id = $1 AND seq = $2 AND status = 'failed'`,
        [batch.id, next.seq],
      );
    }
    const pending = slices.filter((s) => s.status !== 'done').length;
    if (pending > 0) {
      await queueSlices(run, next.seq);
      throw new WaitForSlices(next.seq, pending);
    }
    await settleEntry(run, next.seq, slices);
  }
}

/**
 * Decodes the entry and stages its slices, each in its own statement and queued at once, so the first slices
 * run while the rest are still being written; returns how many, or 0 when the entry was applied whole
 * instead (its value has no element list to split, or too few elements to be worth it). `recorded`: the
 * partition of a split cut short (slice count and key hash), whose missing slices are staged with it (the
 * others are left as they are).
 */
async function splitEntry(run: PhaseRun, seq: number, sliced: SlicedTransform, recorded?: { count: number; keyHash: number }): Promise<number> {
  const count = recorded?.count;
  const { deps, batch, layout } = run;
  const staged = await readStagedEntry(deps.ds, batch.id, seq);
  if (!staged) throw new Error(`entry #${seq} of batch ${batch.id} is not staged`);
  const ctx = await transformContext(run);
  let entry: StagedEntry;
  try {
    entry = decodeStaged(staged, deps.secrets, batch.id);
  } catch (err) {
    return applyWhole(run, { ...staged, key: null, value: null }, { outcome: 'rejected', reason: `the entry could not be decoded: ${(err as Error).message}` });
  }
  const values = entrySize(entry, MAX_SLICED_VALUE_NODES);
  const tooLarge = unmappable(entry, values, MAX_SLICED_VALUE_NODES);
  if (tooLarge) return applyWhole(run, entry, tooLarge);
  const parts = splitParts(entry, sliced, ctx);
  const size = deps.config.SLICE_ELEMENTS;
  if (!parts || (count === undefined && parts.count <= size)) {
    // Mapped whole after all: within what one page maps, as entryPhase does.
    const t = layout.transforms[entry.kind];
    const result = unmappable(entry, values) ?? (t ? safely(() => t(entry, ctx), null) : null);
    return applyWhole(run, entry, result ?? { outcome: 'rejected', reason: 'the entry could not be mapped' });
  }
  entry.value = null;
  entry.raw = staged.raw = ''; // the staged text (~110 MB for 200,000 items) is not needed any more
  // Enough slices that each holds about SLICE_ELEMENTS elements and at most about one page's worth of values.
  const slices = count ?? Math.max(Math.ceil(parts.count / size), Math.ceil(values.nodes / PAGE_NODES));
  const keyHash = recorded?.keyHash ?? SLICE_KEY_HASH;
  const hash = SLICE_KEY_HASHES[keyHash];
  if (!hash) throw new UnrecoverableError(`entry #${seq} was split by key hash ${keyHash}, which this worker does not know (a newer version split it)`);
  const bySlice = partition(parts.count, slices, parts.keyAt, hash);
  const notes = JSON.stringify(parts.notes);
  const have = new Set((await deps.ds.query(`SELECT slice FROM entry_slices WHERE batch_id = $1 AND seq = $2`, [batch.id, seq]) as { slice: number }[]).map((r) => r.slice));
  for (let i = 0; i < slices; i++) {
    if (have.has(i)) continue;
    const members = bySlice.indices.subarray(bySlice.starts[i], bySlice.starts[i + 1]);
    const elements = parts.sliceJson(members);
    // A bind parameter, not COPY: a slice's JSON is megabytes, and escaping it for COPY costs more than
    // sending it (jobs/phases/ingest.ts stages large values the same way). ON CONFLICT: a second run of the
    // phase splitting at the same time.
    await deps.ds.query(
      `INSERT INTO entry_slices (batch_id, seq, slice, slice_count, key_hash, elements, path, notes, element_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT DO NOTHING`,
      [batch.id, seq, i, slices, keyHash, elements, parts.path, notes, members.length],
    );
    await queueSlices(run, seq, i);
  }
  run.log.info({ seq, slices, staged: slices - have.size }, 'large entry split into slices');
  return slices;
}

/** An entry's element list as the split uses it, parsed (SlicedTransform.split) or outlined in its text (splitText). */
interface SplitParts {
  count: number;
  path: string;
  notes: Record<string, unknown>;
  /** The element's key (SlicedTransform.keyOf), null for none. */
  keyAt(index: number): string | null;
  /** The elements of one slice as staged, `[[index, element], …]` JSON; what only they needed is released. */
  sliceJson(members: Int32Array): string;
}

/**
 * The entry's element list, or null when there is none to slice (the whole transform then says why). From
 * the value's text when the transform can outline it: no element is parsed here, and a slice is its
 * elements' own text (their JSON.parse in the slice job gives exactly what the whole parse gave them);
 * else parsed, and a slice is its elements' JSON.stringify.
 */
function splitParts(entry: StagedEntry, sliced: SlicedTransform, ctx: TransformContext): SplitParts | null {
  const text = entry.value;
  const outlined = typeof text === 'string' && sliced.splitText ? safely(() => sliced.splitText!(text, ctx), undefined) : undefined;
  if (outlined === null) return null;
  if (outlined) {
    const { list, path, notes } = outlined;
    return {
      count: list.starts.length, path, notes: notes ?? {},
      keyAt: (index) => list.keys[index],
      sliceJson: (members) => {
        const out = new Array<string>(members.length);
        members.forEach((index, k) => { out[k] = `[${index},${(text as string).slice(list.starts[index], list.ends[index])}]`; });
        // The text goes to Postgres as UTF-8, where a raw lone surrogate would become U+FFFD; in valid JSON
        // it can only be inside a string literal, where its escape reads back as the same code unit.
        return escapeLoneSurrogates(`[${out.join(',')}]`);
      },
    };
  }
  const parts = safely(() => sliced.split(entry, ctx), null);
  if (!parts) return null;
  const { elements } = parts;
  return {
    count: elements.length, path: parts.path, notes: parts.notes ?? {},
    keyAt: (index) => safely(() => sliced.keyOf(elements[index]), null),
    sliceJson: (members) => {
      const pairs = Array.from(members, (index) => [index, elements[index]]);
      for (const index of members) elements[index] = undefined; // released as it goes: the parsed list is the one large thing held
      return stringifyExactly(pairs);
    },
  };
}

/**
 * JSON.stringify of parsed elements, exact where it is not: -0 and ±Infinity (what JSON.parse makes of
 * `-0` and `1e400`) are written as `-0` and `±1e400`, which the slice job's JSON.parse reads back as them,
 * instead of 0 and null (the whole mapping sees them: a date of 1e400 is rejected as invalid, not as
 * missing). They pass through the replacer as marked strings (a random id: no string of the data can be
 * one), replaced in the text afterwards. (NaN has no JSON text; only a decoded IndexedDB value holds it.)
 */
function stringifyExactly(v: unknown): string {
  const mark = `\u0000${randomUUID()}:`;
  const forms = { '-0': '-0', inf: '1e400', '-inf': '-1e400' } as const;
  let marked = false;
  const text = JSON.stringify(v, (_key, x: unknown) => {
    if (typeof x !== 'number' || Number.isNaN(x) || (Number.isFinite(x) && !Object.is(x, -0))) return x;
    marked = true;
    return mark + (Object.is(x, -0) ? '-0' : x > 0 ? 'inf' : '-inf');
  });
  if (!marked) return text;
  let out = text;
  for (const [name, form] of Object.entries(forms)) out = out.replaceAll(JSON.stringify(mark + name), form);
  return out;
}

/**
 * Which elements go to which slice, as index lists (slice i: `indices[starts[i]..starts[i+1])`, ascending):
 * elements with one key in one slice (spread by the key's hash), those without a key round-robin. Two
 * typed arrays, not an [index, element] pair per element: a list of 4 million small elements would
 * otherwise need ~200 MB more heap for the pairs while the whole parsed list is held.
 */
export function partition(count: number, slices: number, keyAt: (index: number) => string | null, hash: (key: string) => number): { indices: Int32Array; starts: Int32Array } {
  const sliceOf = new Int32Array(count);
  const starts = new Int32Array(slices + 1);
  for (let index = 0; index < count; index++) {
    const key = keyAt(index);
    const slice = key === null ? index % slices : hash(key) % slices;
    sliceOf[index] = slice;
    starts[slice + 1]++;
  }
  for (let i = 0; i < slices; i++) starts[i + 1] += starts[i];
  const indices = new Int32Array(count);
  const next = starts.slice(0, slices);
  for (let index = 0; index < count; index++) indices[next[sliceOf[index]]++] = index;
  return { indices, starts };
}

/** FNV-1a (32 bits) of a key's UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The hashes that choose an element's slice by its key, by the number entry_slices.key_hash records: stable
 * forever, since a split cut short is completed with the hash it started with. 1, FNV-1a alone, leaves the
 * low bits poorly mixed: the low bit of the hash is the parity of the key's characters, so modulo an even
 * slice count keys like `1754982000123_item123` (each digit twice) all fell into half the slices, and slice
 * sizes varied 0 to 3x. 2 adds MurmurHash3's 32-bit finalizer, which spreads any key over every slice.
 */
export const SLICE_KEY_HASHES: Readonly<Record<number, (key: string) => number>> = {
  1: fnv1a,
  2: (key) => {
    let h = fnv1a(key);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  },
};
/** The key hash new splits use. */
export const SLICE_KEY_HASH = 2;

function safely<T, F>(f: () => T, fallback: F): T | F {
  try {
    return f();
  } catch {
    return fallback;
  }
}

async function applyWhole(run: PhaseRun, entry: StagedEntry, result: TransformResult): Promise<0> {
  entry.value = null;
  await run.deps.ds.transaction((m) => applyResults(m, run, [entry], new Map([[entry.seq, result]])));
  return 0;
}

/** Queues a job for every slice of the entry (or that one) not done yet (ids carry the generation: re-adding is a no-op). */
async function queueSlices(run: PhaseRun, seq: number, only?: number): Promise<void> {
  const open: { slice: number; generation: number }[] = await run.deps.ds.query(
    `SELECT slice, generation FROM entry_slices WHERE batch_id = $1 AND seq = $2 AND status = 'pending' AND ($3::int IS NULL OR slice = $3) ORDER BY slice`,
    [run.batch.id, seq, only ?? null],
  );
  await run.deps.queue!.addSlices(open.map((s) => ({
    id: sliceJobId(run.jobId, seq, s.slice, s.generation),
    data: { batchId: run.batch.id, phase: run.phase, seq, slice: s.slice, generation: s.generation, parentJobId: run.jobId },
  })));
}

/**
 * The entry's outcome from its slices', as the whole-entry mapping gives it (applyResults' outcomeOf and the
 * layout's `finish`): migrated when any row was written; else rejected, with the reason.
 */
async function settleEntry(run: PhaseRun, seq: number, slices: SliceRow[]): Promise<void> {
  const tables: Record<string, number> = {};
  let produced = 0;
  let rejects = 0;
  let firstReject: string | null = null;
  for (const s of slices) {
    const r = s.result!;
    for (const [t, n] of Object.entries(r.tables)) tables[t] = (tables[t] ?? 0) + n;
    produced += r.produced;
    rejects += r.rejects;
    firstReject ??= r.firstReject;
  }
  const written = Object.values(tables).reduce((a, b) => a + b, 0);
  let outcome = 'migrated';
  let reason: string | null = null;
  if (written === 0) {
    outcome = 'rejected';
    reason = produced > 0
      ? `none of its ${produced} row(s) could be written: ${firstReject ?? 'see rejects'}`
      : `every element was rejected (${rejects} rejects; see them for reasons)`;
  }
  const elements = slices.reduce((n, s) => n + s.element_count, 0);
  await run.deps.ds.transaction(async (m) => {
    // A second run of this phase may have settled it meanwhile: only a pending entry is settled.
    const settled = writeResult(await m.query(
      `UPDATE dump_entries SET outcome = $3, reason = $4, result = $5 WHERE batch_id = $1 AND seq = $2 AND outcome = 'pending'`,
      [run.batch.id, seq, outcome, reason === null ? null : printableText(reason), JSON.stringify({ tables, rejects, slices: slices.length })],
    ));
    if (settled.count === 0) return;
    const notes = slices[0].notes;
    if (Object.keys(notes).length) await mergeNotes(m, run.batch.id, notes);
    await m.query(`DELETE FROM entry_slices WHERE batch_id = $1 AND seq = $2`, [run.batch.id, seq]);
  });
  run.log.info({ seq, slices: slices.length, elements, written, rejects, outcome }, 'sliced entry settled');
}

/**
 * A slice job: maps its elements and writes them (applySlice), once: under the user's row lock (shared), a
 * slice no longer pending, or of another generation, is left alone. Wakes the phase job when it was the
 * entry's last open slice.
 */
export async function runSlice(deps: PhaseDeps, job: Job<JobPayloads['slice']>): Promise<{ slice: number; skipped?: string }> {
  const started = Date.now();
  const observe = (outcome: string) => sliceDuration.observe({ phase: job.data.phase, outcome }, (Date.now() - started) / 1000);
  try {
    const done = await applyOneSlice(deps, job);
    observe(done.skipped ? 'skipped' : 'completed');
    return done;
  } catch (err) {
    observe(err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1) ? 'failed' : 'retry');
    throw err;
  }
}

async function applyOneSlice(deps: PhaseDeps, job: Job<JobPayloads['slice']>): Promise<{ slice: number; skipped?: string }> {
  const { batchId, phase, seq, slice, generation, parentJobId } = job.data;
  const batch = await deps.ds.getRepository(MigrationBatch).findOneBy({ id: batchId });
  if (!batch) throw new UnrecoverableError(`batch ${batchId} does not exist`);
  if (batch.status === 'rolling_back' || batch.status === 'rolled_back') return { slice, skipped: batch.status };
  const layout = Object.hasOwn(deps.layouts, batch.layout) ? deps.layouts[batch.layout] : undefined;
  if (!layout) throw new UnrecoverableError(`batch ${batchId} has layout ${batch.layout}, which this worker does not know`);
  const log = deps.log.child({ batchId, phase, seq, slice, jobId: job.id });
  const run: PhaseRun = { deps, batch, layout, phase, jobId: parentJobId, resumed: false, log, progress: async () => undefined };
  const ctx = await transformContext(run);
  const applied = await deps.ds.transaction(async (m: EntityManager): Promise<boolean | string> => {
    try {
      await lockForBatchWrite(m, batch, deps.config.PHASE_LOCK_TIMEOUT_MS, 'shared');
    } catch (err) {
      if (err instanceof BatchRolledBack) return err.status; // claimed by a rollback meanwhile: nothing more lands
      throw err;
    }
    const [row] = await m.query(
      `SELECT s.elements, s.path, s.status, s.generation, d.area, d.db_name, d.store_name, d.entry_key, d.kind
       FROM entry_slices s JOIN dump_entries d USING (batch_id, seq)
       WHERE s.batch_id = $1 AND s.seq = $2 AND s.slice = $3 FOR UPDATE OF s`,
      [batchId, seq, slice],
    );
    if (!row || row.status !== 'pending' || row.generation !== generation) return false;
    const sliced = layout.slicedTransforms?.[row.kind];
    if (!sliced) throw new UnrecoverableError(`layout ${layout.name} has no sliced transform for kind ${row.kind}`);
    const items = (JSON.parse(row.elements) as [number, unknown][]).map(([index, element]) => ({ index, element }));
    let result: TransformResult;
    try {
      result = sliced.map(items, row.path, ctx);
    } catch (err) {
      const range = `${row.path}[${items[0]?.index ?? 0}…${items[items.length - 1]?.index ?? 0}]`;
      result = { rejects: [{ path: range, code: 'unmappable_slice', reason: `${items.length} element(s) could not be mapped: ${(err as Error).message}` }] };
    }
    const entry: StagedEntry = { seq, area: row.area, dbName: row.db_name, storeName: row.store_name, entryKey: row.entry_key, kind: row.kind, raw: '', sealed: false, key: null, value: null };
    const totals = await applySlice(m, run, entry, result);
    await m.query(
      `UPDATE entry_slices SET status = 'done', result = $4, elements = '' WHERE batch_id = $1 AND seq = $2 AND slice = $3`,
      [batchId, seq, slice, JSON.stringify(totals)],
    );
    log.debug({ elements: items.length, ...totals.tables }, 'slice written');
    return true;
  });
  if (typeof applied === 'string') return { slice, skipped: applied };
  if (applied) await afterSlice(deps, batchId, phase, seq, parentJobId);
  return applied ? { slice } : { slice, skipped: 'already applied' };
}

/** Records a slice job's final failure, and wakes its phase job to report it. */
export async function markSliceFailed(deps: PhaseDeps, job: Job<JobPayloads['slice']>, err: Error): Promise<void> {
  const { batchId, seq, slice, generation, parentJobId } = job.data;
  await deps.ds.query(
    `UPDATE entry_slices SET status = 'failed', error = $5 WHERE batch_id = $1 AND seq = $2 AND slice = $3 AND generation = $4 AND status = 'pending'`,
    [batchId, seq, slice, generation, err.message || String(err)],
  );
  await deps.queue?.wake(parentJobId);
}

/**
 * After a slice: the phase's progress counts the entry's elements (done / all) while its slices run, and
 * the phase job is woken when this was the last open slice.
 */
async function afterSlice(deps: PhaseDeps, batchId: string, phase: string, seq: number, parentJobId: string): Promise<void> {
  const [s] = await deps.ds.query(
    `SELECT count(*) FILTER (WHERE status = 'pending')::int AS open,
            coalesce(sum(element_count) FILTER (WHERE status = 'done'), 0)::int AS done, coalesce(sum(element_count), 0)::int AS total
     FROM entry_slices WHERE batch_id = $1 AND seq = $2`,
    [batchId, seq],
  );
  await deps.ds.query(`UPDATE migration_phases SET done = $3, total = $4 WHERE batch_id = $1 AND name = $2 AND status = 'running'`, [batchId, phase, s.done, s.total]);
  if (s.open === 0) await deps.queue?.wake(parentJobId);
}
