/**
 * The outbox: writes waiting for the API, in IndexedDB (they survive a reload, a crash, a closed tab),
 * sent strictly in the order they were made, one at a time. The oldest write blocks the ones behind it
 * while it cannot be sent: a later write must never overtake an earlier one (a create and its update, an
 * item and the item referring to it).
 *
 * - A network failure, 5xx, 408 or 429 leaves the write at the head and retries after the next backoff
 *   delay, or after `Retry-After` when the server names a longer one; going `online` retries at once.
 * - Tabs of one origin share the outbox; a Web Lock lets one of them send at a time, so no write is sent twice
 *   concurrently nor out of order.
 * - Nothing is sent before the server confirms `api` mode (held), nor after it refused the token (blocked).
 */
import type { HybridDb } from './db';
import { Emitter } from './emitter';
import { ApiFailure } from './http';
import type { OutboxOp, OutboxState, OutboxStatus, ResourceName } from './types';

export const DEFAULT_OUTBOX_DELAYS = [250, 500, 1000, 2000, 4000, 8000, 16000, 30000];
const LOCK_NAME = 'bsm-hybrid-outbox';

export interface OutboxDeps {
  db: HybridDb;
  /**
   * May writes be sent now? `yes`: the server confirmed `api`; `held`: it confirmed another mode (the mode
   * watch kicks the outbox when `api` comes); `unknown`: the server could not be asked (retried with backoff).
   */
  canSend: () => 'yes' | 'held' | 'unknown';
  /** Asks the server for the mode again before giving up on sending. */
  recheck: () => Promise<void>;
  /** Sends one write; throws ApiFailure when it should be retried (transient) or stop the queue (auth). */
  send: (op: OutboxOp) => Promise<void>;
  delays?: number[];
}

export class Outbox {
  private readonly emitter = new Emitter<{ change: OutboxStatus }>();
  private status: OutboxStatus = { size: 0, state: 'idle', retryAt: null, lastError: null };
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  /** A kick came while a drain ran (it may have looked before the new write was stored): drain again. */
  private again = false;
  private failures = 0;
  /** The server's own `Retry-After`: nothing is sent before it, not even when the browser comes back online. */
  private notBefore = 0;
  private closed = false;
  private readonly onOnline = () => this.kick();

  constructor(private readonly deps: OutboxDeps) {
    globalThis.addEventListener?.('online', this.onOnline);
  }

  get size(): number { return this.status.size; }
  get state(): OutboxState { return this.status.state; }
  get retryAt(): number | null { return this.status.retryAt; }
  get lastError(): string | null { return this.status.lastError; }
  snapshot(): OutboxStatus { return { ...this.status }; }
  on(type: 'change', fn: (s: OutboxStatus) => void): () => void { return this.emitter.on(type, fn); }

  private set(patch: Partial<OutboxStatus>): void {
    const next = { ...this.status, ...patch };
    if (JSON.stringify(next) === JSON.stringify(this.status)) return;
    this.status = next;
    this.emitter.emit('change', { ...next });
  }

  /** Recounts from IndexedDB (another tab may have added or sent writes). */
  async refresh(): Promise<void> {
    const size = await this.deps.db.count('outbox');
    this.set({ size, state: size === 0 ? 'idle' : this.status.state === 'idle' ? 'held' : this.status.state });
  }

  async add(op: Omit<OutboxOp, 'attempts'>): Promise<void> {
    await this.deps.db.put('outbox', { ...op, attempts: 0 });
    await this.refresh();
    this.kick();
  }

  pending(): Promise<OutboxOp[]> {
    return this.deps.db.all<OutboxOp>('outbox');
  }

  /** Later writes of the same resource (the conflict path folds them into one decision). */
  async takeLater(resource: ResourceName, id: string, afterSeq: number): Promise<OutboxOp[]> {
    const later = (await this.pending()).filter((o) => o.seq! > afterSeq && o.resource === resource && o.id === id);
    for (const o of later) await this.deps.db.delete('outbox', o.seq!);
    return later;
  }

  /** Drops the writes a snapshot already carried (made before `before`); returns how many. */
  async prune(before: number): Promise<number> {
    const old = (await this.pending()).filter((o) => o.at < before);
    for (const o of old) await this.deps.db.delete('outbox', o.seq!);
    await this.refresh();
    return old.length;
  }

  /** After a rollback: the browser copy holds every one of these writes and is the truth again. */
  async discardAll(): Promise<void> {
    await this.deps.db.clear('outbox');
    this.failures = 0;
    this.set({ size: 0, state: 'idle', retryAt: null, lastError: null });
  }

  /** Try to send now (cuts a backoff wait short, but never a server's Retry-After). */
  kick(): void {
    if (this.closed) return;
    const wait = this.notBefore - Date.now();
    if (wait > 0) {
      if (!this.timer) this.timer = setTimeout(() => { this.timer = null; this.kick(); }, wait);
      return;
    }
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.running) { this.again = true; return; }
    this.running = this.drainLocked().finally(() => {
      this.running = null;
      if (this.again && this.status.state !== 'retrying') { this.again = false; this.kick(); }
      this.again = false;
    });
  }

  /** Resolves once the outbox is empty; rejects if it is blocked. */
  async flushed(timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.status.state !== 'retrying') this.kick();
    for (;;) {
      await this.running;
      await this.refresh();
      if (this.status.size === 0) return;
      if (this.status.state === 'blocked') throw new Error(`the outbox is blocked: ${this.status.lastError}`);
      if (Date.now() > deadline) throw new Error(`the outbox still holds ${this.status.size} write(s) (${this.status.state}: ${this.status.lastError})`);
      await new Promise((r) => setTimeout(r, Math.min(200, Math.max(10, (this.status.retryAt ?? 0) - Date.now()))));
    }
  }

  private async drainLocked(): Promise<void> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    if (locks?.request) await locks.request(LOCK_NAME, () => this.drain());
    else await this.drain();
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.closed || this.status.state === 'blocked') return;
      const op = await this.deps.db.first<OutboxOp>('outbox');
      if (!op) { this.failures = 0; return this.set({ size: 0, state: 'idle', retryAt: null }); }
      if (this.deps.canSend() !== 'yes') {
        await this.deps.recheck();
        const can = this.deps.canSend();
        if (can === 'held') return this.refresh().then(() => this.set({ state: 'held', retryAt: null }));
        if (can === 'unknown') return this.failed(op, new ApiFailure('network', 0, 'mode_unknown', 'the API cannot be reached to confirm the mode'));
      }
      this.set({ state: 'sending', retryAt: null });
      try {
        await this.deps.send(op);
      } catch (err) {
        return this.failed(op, err);
      }
      await this.deps.db.delete('outbox', op.seq!);
      this.failures = 0;
      await this.refresh();
      this.set({ lastError: null });
    }
  }

  private async failed(op: OutboxOp, err: unknown): Promise<void> {
    const f = err instanceof ApiFailure ? err : null;
    const message = (err as Error)?.message ?? String(err);
    if (f?.kind === 'auth') return this.set({ state: 'blocked', retryAt: null, lastError: message });
    await this.deps.db.put('outbox', { ...op, attempts: op.attempts + 1 });
    const delays = this.deps.delays?.length ? this.deps.delays : DEFAULT_OUTBOX_DELAYS;
    const wait = Math.max(delays[Math.min(this.failures++, delays.length - 1)], f?.retryAfterMs ?? 0);
    this.notBefore = f?.retryAfterMs ? Date.now() + f.retryAfterMs : 0;
    this.set({ state: 'retrying', retryAt: Date.now() + wait, lastError: message });
    if (!this.closed) this.timer = setTimeout(() => { this.timer = null; this.kick(); }, wait);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    globalThis.removeEventListener?.('online', this.onOnline);
  }
}
