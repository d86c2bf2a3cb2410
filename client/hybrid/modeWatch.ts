/**
 * Which copy is the truth, as the server says: `GET /v1/cutover`, asked at start, on a timer (faster while
 * a batch runs), and whenever an API answer suggests the state moved (a website that vanished after a
 * rollback, a write refused). The page never decides the mode itself: a flag in the page could be lost or
 * stale in another tab; the server's state cannot.
 *
 * The last answer is kept in the client's database only as a provisional mode for a page that starts
 * while the API is unreachable: an offline reload in `api` mode must keep queueing writes (and reading the
 * cache) instead of falling back to browser mode and forgetting the outbox. Only a confirmed answer may
 * trigger what a transition does (flush the outbox, discard it after a rollback).
 */
import type { HybridDb } from './db';
import type { Emitter } from './emitter';
import type { Api } from './http';
import type { CutoverState, HybridEvents, Mode } from './types';

const MODES: Mode[] = ['browser', 'migrating', 'ready', 'switching', 'api'];

export interface ModeChange {
  mode: Mode;
  previous: Mode;
  /** True when the server answered (false: the stored answer of an earlier page). */
  confirmed: boolean;
}

export class ModeWatch {
  state: CutoverState | null = null;
  mode: Mode = 'browser';
  confirmed = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<Mode> | null = null;
  private stopped = false;
  private readonly channel: BroadcastChannel | null =
    typeof BroadcastChannel === 'function' ? new BroadcastChannel('bsm-hybrid-mode') : null;

  constructor(
    private readonly api: Api,
    private readonly db: HybridDb,
    private readonly events: Emitter<HybridEvents>,
    private readonly onChange: (c: ModeChange) => Promise<void> | void,
    private readonly pollMs = { idle: 30000, busy: 2000 },
  ) {
    if (this.channel) this.channel.onmessage = (e: MessageEvent) => { if ((e.data as { mode?: string })?.mode !== this.mode) void this.refresh(); };
  }

  /** The first answer, or the stored one if the API cannot be reached. */
  async start(): Promise<Mode> {
    const stored = await this.db.meta<CutoverState>('cutover').catch(() => undefined);
    if (stored && MODES.includes(stored.mode)) {
      this.state = stored;
      this.mode = stored.mode;
    }
    return this.refresh();
  }

  /** Asks the server now (concurrent callers share one request); never rejects. */
  refresh(): Promise<Mode> {
    this.inFlight ??= this.ask().finally(() => {
      this.inFlight = null;
      this.schedule();
    });
    return this.inFlight;
  }

  private async ask(): Promise<Mode> {
    let state: CutoverState;
    try {
      state = (await this.api.request<CutoverState>('GET', '/v1/cutover')).body;
      if (!MODES.includes(state?.mode)) throw new Error(`unknown mode ${JSON.stringify(state?.mode)}`);
    } catch {
      return this.mode; // unreachable or odd: keep what we know (provisional) and ask again later
    }
    const previous = this.mode;
    const wasConfirmed = this.confirmed;
    this.state = state;
    this.mode = state.mode;
    this.confirmed = true;
    await this.db.setMeta('cutover', state).catch(() => undefined);
    if (previous !== state.mode || !wasConfirmed) {
      // What a transition does (flush, discard) must not make the mode itself unknowable.
      await Promise.resolve(this.onChange({ mode: state.mode, previous, confirmed: true }))
        .catch((err) => console.error('bsm hybrid client: acting on the new mode failed', err));
      if (previous !== state.mode) {
        this.channel?.postMessage({ mode: state.mode });
        this.events.emit('mode', { mode: state.mode, previous, state });
      }
    }
    return state.mode;
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const busy = this.mode === 'migrating' || this.mode === 'switching';
    this.timer = setTimeout(() => void this.refresh(), busy ? this.pollMs.busy : this.pollMs.idle);
  }

  stop(): void {
    this.stopped = true;
    this.channel?.close();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
