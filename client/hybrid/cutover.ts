/**
 * The two steps an app takes to move a user over (docs/cutover.md):
 *
 * - `startMigration()`: snapshot + upload through the uploader (resumable), then follows the snapshot
 *   batch. The app keeps working on the browser copy meanwhile.
 * - `switchOver()`: once the server says `ready`, a new snapshot is compared with the server's watermark
 *   and only what changed, was added or removed goes up as a delta batch. From the moment that snapshot
 *   is taken, writes through the client are held in the outbox (they are queued already in every mode
 *   but `browser`; the ones the snapshot carried are dropped from it), and once the server says `api`
 *   the outbox is flushed.
 */
import { followBatch } from '../follow';
import { snapshot } from '../snapshot';
import { streamNdjsonBlob } from '../stream';
import type { MigrationProgress, MigrationResult } from '../types';
import { uploadBuilt } from '../upload';
import type { HybridDb } from './db';
import { buildDelta, type WatermarkEntry } from './delta';
import type { Emitter } from './emitter';
import type { Api, ApiFailure } from './http';
import type { ModeWatch } from './modeWatch';
import type { Outbox } from './outbox';
import { fromUploader } from './progress';
import type { HybridEvents, HybridOptions, HybridProgress, Mode } from './types';

/**
 * Writes made this long before the delta's snapshot are surely in it and are dropped from the outbox;
 * later ones are kept and replayed (harmless: a replay rewrites the same value). The margin covers
 * another tab's localStorage write reaching this tab's view of it a little late.
 */
export const PRUNE_MARGIN_MS = 2000;

const SWITCH_LOCK = 'bsm-hybrid-switch';
const NO_COUNTS = { changed: 0, added: 0, removed: 0, unchanged: 0 };

export interface SwitchResult {
  mode: Mode;
  deltaBatchId: string | null;
  changed: number;
  added: number;
  removed: number;
  unchanged: number;
}

export class Cutover {
  constructor(
    private readonly api: Api,
    private readonly watch: ModeWatch,
    private readonly outbox: Outbox,
    private readonly db: HybridDb,
    private readonly events: Emitter<HybridEvents>,
    private readonly opts: HybridOptions,
  ) {}

  private progress(p: HybridProgress): void {
    this.events.emit('progress', p);
  }

  private follow(batchId: string, what: 'Migration' | 'Switch', signal?: AbortSignal) {
    return followBatch(batchId, {
      apiBase: `${this.api.base}/v1`, token: this.opts.token, pollIntervalMs: this.opts.pollIntervalMs, signal,
      onProgress: (p: MigrationProgress) => this.progress(fromUploader(p, what)),
    });
  }

  /** Reports a failure on the progress stream too, then rethrows it. */
  private async reporting<T>(stage: HybridProgress['stage'], fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.progress({ stage: 'error', fraction: null, message: `${stage === 'delta' ? 'Switch' : 'Migration'} failed: ${(err as Error).message}`, detail: err });
      throw err;
    }
  }

  async startMigration(o: { signal?: AbortSignal } = {}): Promise<MigrationResult | null> {
    return this.reporting('snapshot', async () => {
      const mode = await this.watch.refresh();
      if (mode === 'migrating' && this.watch.state?.snapshotBatchId) {
        // Another page (or this one, before a reload) started it: follow the batch that runs.
        const id = this.watch.state.snapshotBatchId;
        const { batch, report } = await this.follow(id, 'Migration', o.signal);
        await this.watch.refresh();
        return { batchId: id, status: batch.status, batch, report, resumed: true };
      }
      if (mode !== 'browser') return null; // migrated already: nothing to start
      this.progress({ stage: 'snapshot', fraction: 0, message: 'Reading this browser\'s storage' });
      // Streamed from storage like migrate(): the page never holds the whole dump.
      const built = await streamNdjsonBlob({
        app: this.opts.app ?? 'catalyst-studio',
        onSummary: (summary) => this.progress(fromUploader({ stage: 'snapshot', summary, partial: true }, 'Migration')),
      });
      this.progress(fromUploader({ stage: 'snapshot', summary: built.summary }, 'Migration'));
      const result = await uploadBuilt({ source: { capturedAt: built.capturedAt } }, built, {
        endpoint: `${this.api.base}/v1/uploads`, token: this.opts.token, websiteId: this.opts.websiteId,
        chunkSize: this.opts.chunkSize, pollIntervalMs: this.opts.pollIntervalMs, signal: o.signal,
        onProgress: (p) => this.progress(fromUploader(p, 'Migration')),
      });
      await this.db.setMeta('snapshotBatchId', result.batchId);
      await this.watch.refresh();
      return result;
    });
  }

  /** The watermark: every staged entry of the chain's latest batch, page by page (`next` is the next page's path). */
  private async watermark(batchId: string): Promise<WatermarkEntry[]> {
    const out: WatermarkEntry[] = [];
    let path: string | null = `/v1/batches/${encodeURIComponent(batchId)}/entries`;
    while (path) {
      const r: { body: { entries: WatermarkEntry[]; next: string | null } } = await this.api.request('GET', path);
      out.push(...r.body.entries);
      path = r.body.next;
    }
    return out;
  }

  /**
   * Tabs of one origin switch one at a time (a Web Lock): the second finds the server `switching` and
   * follows the first one's delta instead of sending a second delta against the same base.
   */
  switchOver(o: { signal?: AbortSignal } = {}): Promise<SwitchResult> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    const run = () => this.switchOnce(o, false);
    return this.reporting('delta', () => (locks?.request ? locks.request(SWITCH_LOCK, run) : run()));
  }

  private async switchOnce(o: { signal?: AbortSignal }, retried: boolean): Promise<SwitchResult> {
    const mode = await this.watch.refresh();
    const running = this.watch.state?.deltaBatchIds.at(-1);
    if (mode === 'switching' && running) return this.finish(running, { deltaBatchId: running, ...NO_COUNTS }, o.signal);
    if (mode === 'api') return { mode, deltaBatchId: null, ...NO_COUNTS };
    if (mode !== 'ready' || !this.watch.state?.latestBatchId) throw new Error(`The server is not ready to switch (mode ${mode}${this.watch.state?.reason ? `: ${this.watch.state.reason}` : ''})`);
    const sent = await this.sendDelta(this.watch.state.latestBatchId, o.signal, retried);
    if (!sent) return this.switchOnce(o, true); // another tab's delta got there first: follow that one
    return this.finish(sent.deltaBatchId, sent, o.signal);
  }

  /**
   * Snapshot, compare, send. The outbox is pruned of what the snapshot carried only once the server took
   * this delta: had another tab's delta (an older snapshot) won, those writes would be carried by nothing.
   * Null when the server refused it because another delta of the chain is running or done (409).
   */
  private async sendDelta(base: string, signal: AbortSignal | undefined, retried: boolean): Promise<Omit<SwitchResult, 'mode'> & { deltaBatchId: string } | null> {
    this.progress({ stage: 'delta', fraction: 0, message: 'Taking the delta snapshot' });
    const dump = await snapshot({ app: this.opts.app ?? 'catalyst-studio' });
    const delta = buildDelta(dump, await this.watermark(base));
    const counts = { changed: delta.changed, added: delta.added, removed: delta.removed, unchanged: delta.unchanged };
    this.progress({ stage: 'delta', fraction: 0.5, message: `Sending the changes since the snapshot: ${delta.changed} changed, ${delta.added} added, ${delta.removed} removed`, detail: counts });
    let res;
    try {
      res = await this.api.request<{ batchId: string }>('POST', `/v1/batches/${encodeURIComponent(base)}/delta`, { rawBody: delta.file, contentType: 'application/x-ndjson', signal });
    } catch (err) {
      if ((err as ApiFailure).kind === 'exists' && !retried) return null; // delta_in_progress / stale_base
      throw err;
    }
    const pruned = await this.outbox.prune(Date.parse(dump.source.capturedAt) - PRUNE_MARGIN_MS);
    const deltaBatchId = res.body.batchId;
    this.progress({ stage: 'delta', fraction: 1, batchId: deltaBatchId, message: `Delta batch ${deltaBatchId} queued`, detail: { ...counts, pruned } });
    return { deltaBatchId, ...counts };
  }

  /**
   * Follows the delta batch; once the server says `api`, the outbox goes out. If the server still says
   * `switching` (another delta of the chain was accepted meanwhile), that one is followed too.
   */
  private async finish(batchId: string, r: Omit<SwitchResult, 'mode'>, signal?: AbortSignal): Promise<SwitchResult> {
    let id = batchId;
    for (let round = 0; ; round++) {
      const { batch } = await this.follow(id, 'Switch', signal);
      const mode = await this.watch.refresh();
      const next = this.watch.state?.deltaBatchIds.at(-1);
      if (mode === 'switching' && next && next !== id && round < 5) { id = next; continue; }
      if (batch.status !== 'completed' || mode !== 'api') {
        throw new Error(`the delta batch ended ${batch.status} and the server says ${mode}${this.watch.state?.reason ? ` (${this.watch.state.reason})` : ''}; writes stay in the outbox`);
      }
      this.outbox.kick();
      this.progress({ stage: 'switch', fraction: 1, batchId: id, message: `Switched: reading and writing the API (${this.outbox.size} queued write(s) being sent)` });
      return { mode, ...r };
    }
  }
}
