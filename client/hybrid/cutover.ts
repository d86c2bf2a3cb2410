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
import { buildNdjsonBlob } from '../ndjsonBlob';
import { snapshot } from '../snapshot';
import type { MigrationProgress, MigrationResult } from '../types';
import { uploadBuilt } from '../upload';
import type { HybridDb } from './db';
import { buildDelta, type WatermarkEntry } from './delta';
import type { Emitter } from './emitter';
import type { Api } from './http';
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
      const dump = await snapshot({ app: this.opts.app ?? 'catalyst-studio' });
      const built = await buildNdjsonBlob(dump);
      this.progress(fromUploader({ stage: 'snapshot', summary: built.summary }, 'Migration'));
      const result = await uploadBuilt(dump, built, {
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

  async switchOver(o: { signal?: AbortSignal } = {}): Promise<SwitchResult> {
    return this.reporting('delta', async () => {
      const none = { deltaBatchId: null, changed: 0, added: 0, removed: 0, unchanged: 0 };
      let mode = await this.watch.refresh();
      if (mode === 'switching' && this.watch.state?.latestBatchId) return this.finish(this.watch.state.latestBatchId, none, o.signal);
      if (mode === 'api') return { mode, ...none };
      if (mode !== 'ready' || !this.watch.state?.latestBatchId) throw new Error(`The server is not ready to switch (mode ${mode}${this.watch.state?.reason ? `: ${this.watch.state.reason}` : ''})`);
      const base = this.watch.state.latestBatchId;
      this.progress({ stage: 'delta', fraction: 0, message: 'Taking the delta snapshot' });
      const dump = await snapshot({ app: this.opts.app ?? 'catalyst-studio' });
      const pruned = await this.outbox.prune(Date.parse(dump.source.capturedAt) - PRUNE_MARGIN_MS);
      const delta = buildDelta(dump, await this.watermark(base));
      const counts = { changed: delta.changed, added: delta.added, removed: delta.removed, unchanged: delta.unchanged };
      this.progress({ stage: 'delta', fraction: 0.5, message: `Sending the changes since the snapshot: ${delta.changed} changed, ${delta.added} added, ${delta.removed} removed`, detail: { ...counts, pruned } });
      const res = await this.api.request<{ batchId?: string; id?: string }>('POST', `/v1/batches/${encodeURIComponent(base)}/delta`, {
        rawBody: delta.file, contentType: 'application/x-ndjson', signal: o.signal,
      });
      const deltaBatchId = res.body.batchId ?? res.body.id;
      if (!deltaBatchId) throw new Error('The server accepted the delta but named no batch');
      this.progress({ stage: 'delta', fraction: 1, batchId: deltaBatchId, message: `Delta batch ${deltaBatchId} queued` });
      mode = (await this.finish(deltaBatchId, { deltaBatchId, ...counts }, o.signal)).mode;
      return { mode, deltaBatchId, ...counts };
    });
  }

  /** Follows the delta batch; once the server says `api`, the outbox goes out. */
  private async finish(batchId: string, r: Omit<SwitchResult, 'mode'>, signal?: AbortSignal): Promise<SwitchResult> {
    const { batch } = await this.follow(batchId, 'Switch', signal);
    const mode = await this.watch.refresh();
    if (batch.status !== 'completed' || mode !== 'api') {
      throw new Error(`the delta batch ended ${batch.status} and the server says ${mode}${this.watch.state?.reason ? ` (${this.watch.state.reason})` : ''}; writes stay in the outbox`);
    }
    this.outbox.kick();
    this.progress({ stage: 'switch', fraction: 1, batchId, message: `Switched: reading and writing the API (${this.outbox.size} queued write(s) being sent)` });
    return { mode, ...r };
  }
}
