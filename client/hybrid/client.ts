/**
 * createHybridClient(): the Catalyst data (content items, content types, preferences) behind one object
 * that reads and writes the browser copy until the server says the user's data lives in the API, then the
 * API (the browser copy kept as a write-through cache), and the browser copy again after a rollback.
 * See client/README.md ("Cutover") for the sequence, the API and its guarantees.
 */
import type { ContentItem, ContentType } from './catalyst';
import { ConflictLog } from './conflicts';
import { Cutover, type SwitchResult } from './cutover';
import { HybridDb, hybridDbName } from './db';
import { Emitter } from './emitter';
import { Api } from './http';
import { ModeWatch, type ModeChange } from './modeWatch';
import { Outbox } from './outbox';
import { Remote } from './remote';
import { Collection, Preferences, write, type Core } from './resources';
import { Seen } from './seen';
import { Sender } from './sender';
import type { MigrationResult } from '../types';
import type { Conflict, CutoverState, HybridEvents, HybridOptions, Mode, OutboxState, OutboxStatus } from './types';

export interface HybridClient {
  /** Resolves once the first mode is known (from the server, or the last answer if it is unreachable). */
  ready: Promise<Mode>;
  readonly mode: Mode;
  /** The last `GET /v1/cutover` answer. */
  readonly state: CutoverState | null;
  contentItems: Collection<ContentItem>;
  contentTypes: Collection<ContentType>;
  preferences: Preferences;
  outbox: {
    readonly size: number;
    readonly state: OutboxState;
    readonly lastError: string | null;
    on(type: 'change', fn: (s: OutboxStatus) => void): () => void;
    /** Resolves when every queued write reached the API. */
    flushed(timeoutMs?: number): Promise<void>;
  };
  conflicts: {
    list(): Promise<Conflict[]>;
    resolve(logId: number, value?: unknown): Promise<void>;
  };
  on<K extends keyof HybridEvents>(type: K, fn: (e: HybridEvents[K]) => void): () => void;
  /** Asks the server for the mode now. */
  refreshMode(): Promise<Mode>;
  startMigration(o?: { signal?: AbortSignal }): Promise<MigrationResult | null>;
  switchOver(o?: { signal?: AbortSignal }): Promise<SwitchResult>;
  /** Stops timers and closes the client's database (queued writes stay for the next client). */
  close(): void;
}

interface Parts {
  db: HybridDb;
  events: Emitter<HybridEvents>;
  watch: ModeWatch;
  outbox: Outbox;
  conflicts: ConflictLog;
  cutover: Cutover;
  core: Core;
  ready: Promise<Mode>;
}

/** The object the app holds: a thin face over the parts. */
function facade(p: Parts): HybridClient {
  const { watch, outbox, conflicts, cutover, events, core } = p;
  return {
    ready: p.ready,
    get mode() { return watch.mode; },
    get state() { return watch.state; },
    contentItems: new Collection<ContentItem>(core, 'contentItems'),
    contentTypes: new Collection<ContentType>(core, 'contentTypes'),
    preferences: new Preferences(core),
    outbox: {
      get size() { return outbox.size; },
      get state() { return outbox.state; },
      get lastError() { return outbox.lastError; },
      on: (type, fn) => outbox.on(type, fn),
      flushed: (t) => outbox.flushed(t),
    },
    conflicts: { list: () => conflicts.list(), resolve: (id, v) => conflicts.resolve(id, v) },
    on: (type, fn) => events.on(type, fn),
    refreshMode: () => watch.refresh(),
    startMigration: (o) => cutover.startMigration(o),
    switchOver: (o) => cutover.switchOver(o),
    close() {
      watch.stop();
      outbox.close();
      p.db.close();
    },
  };
}

export function createHybridClient(opts: HybridOptions): HybridClient {
  const db = new HybridDb(hybridDbName(opts.userKey));
  const events = new Emitter<HybridEvents>();
  const api = new Api(opts.apiOrigin, opts.token, opts.fetch);
  const seen = new Seen(db);

  /** What a confirmed transition does: flush on `api`; after a rollback, the browser copy is the truth again. */
  async function onModeChange(c: ModeChange): Promise<void> {
    if (c.mode === 'api') return outbox.kick();
    if (c.mode === 'browser' && c.confirmed) {
      await outbox.discardAll();
      await seen.clear();
    }
    await outbox.refresh();
  }

  const watch = new ModeWatch(api, db, events, onModeChange, { idle: opts.modePollMs ?? 30000, busy: opts.busyPollMs ?? 2000 });
  const suspect = async () => (await watch.refresh()) === 'api';
  const remote = new Remote(api, () => {
    const id = watch.state?.globalWebsite?.id ?? opts.websiteId;
    if (!id) throw new Error('No website holds the global data: the cutover state names none and no websiteId was given');
    return id;
  });
  // `outbox` and `sender` are used by callbacks that only run once the client is built (after this function).
  const outbox: Outbox = new Outbox({
    db,
    canSend: () => (!watch.confirmed ? 'unknown' : watch.mode === 'api' ? 'yes' : 'held'),
    recheck: async () => { await watch.refresh(); },
    send: (op) => sender.send(op),
    delays: opts.retryDelays,
  });
  const core: Core = { ready: Promise.resolve(), mode: () => watch.mode, remote, seen, outbox, suspect };
  const conflicts = new ConflictLog(db, events, opts.onConflict, (resource, id, value) => write(core, resource, id, value));
  const sender: Sender = new Sender({ remote, seen, outbox, conflicts, rule: opts.conflictRule ?? 'server-wins', suspect });
  outbox.on('change', (s) => events.emit('outbox', s));
  const cutover = new Cutover(api, watch, outbox, db, events, opts);
  const ready = (async () => {
    await outbox.refresh();
    const mode = await watch.start();
    outbox.kick();
    return mode;
  })();
  core.ready = ready;
  return facade({ db, events, watch, outbox, conflicts, cutover, core, ready });
}
