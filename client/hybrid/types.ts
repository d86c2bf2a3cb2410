/** Public types of the hybrid data client (see client/README.md, "Cutover"). */
import type { CollectionName, PreferenceSection } from './catalyst';

/** `GET /v1/cutover` modes (docs/cutover.md). */
export type Mode = 'browser' | 'migrating' | 'ready' | 'switching' | 'api';

export interface CutoverState {
  mode: Mode;
  snapshotBatchId: string | null;
  latestBatchId: string | null;
  latestStatus: string | null;
  deltaBatchIds: string[];
  switchedAt: string | null;
  reason: string | null;
  globalWebsite: { id: string; sourceId: string } | null;
}

export type ResourceName = CollectionName | 'preferences';

/** One write waiting for the API, in the order it was made (`seq`). */
export interface OutboxOp {
  seq?: number;
  resource: ResourceName;
  /** The item's browser id, or the preference section. */
  id: string;
  /** The whole new value (app shape); null = deleted. */
  value: unknown;
  /** The item was not in the browser copy when written: try to create it first. */
  isNew?: boolean;
  /** Date.now() when the write was made (switchOver drops writes its snapshot already carries). */
  at: number;
  attempts: number;
}

/**
 * - `idle`: empty, or nothing to do;
 * - `held`: writes wait for the switch to finish (mode is not `api` yet);
 * - `sending`: a write is on its way;
 * - `retrying`: the API was unreachable or busy; the next attempt is at `retryAt`;
 * - `blocked`: the API refused the token (401/403): nothing is sent until the app gives a new client.
 */
export type OutboxState = 'idle' | 'held' | 'sending' | 'retrying' | 'blocked';

export interface OutboxStatus {
  size: number;
  state: OutboxState;
  retryAt: number | null;
  lastError: string | null;
}

export interface ConflictInfo {
  resource: ResourceName;
  id: string;
  /** The change made here (null: deleted here). */
  local: unknown;
  /** What the server holds now (null: deleted there). */
  server: unknown;
}

/** How a 412 is settled: keep the server's version, write ours anyway, or a value the app computes (undefined: the server's). */
export type ConflictRule = 'server-wins' | 'client-wins' | ((c: ConflictInfo) => unknown | Promise<unknown>);

/** A change that did not reach the server as made; kept until the app resolves it. */
export interface Conflict extends ConflictInfo {
  id: string;
  /** Its id in the log (pass to `conflicts.resolve`). */
  logId: number;
  /** `precondition_failed`: someone else changed it first; `rejected`: the API refused the value (`error`). */
  reason: 'precondition_failed' | 'rejected';
  /** What the client did: kept the server's version, wrote ours, wrote the rule's merge, or nothing. */
  applied: 'server' | 'client' | 'merged' | 'none';
  error?: { status: number; code: string; message: string };
  at: string;
}

/**
 * One progress stream for the whole cutover. `fraction` (0–1) is the stage's own progress when known.
 * `stage: 'error'` carries the message to show; the promise of the call that failed rejects too.
 */
export interface HybridProgress {
  stage: 'snapshot' | 'upload' | 'processing' | 'done' | 'delta' | 'switch' | 'error';
  message: string;
  fraction: number | null;
  batchId?: string;
  detail?: unknown;
}

export interface HybridEvents extends Record<string, unknown> {
  progress: HybridProgress;
  mode: { mode: Mode; previous: Mode; state: CutoverState | null };
  outbox: OutboxStatus;
  conflict: Conflict;
}

export interface HybridOptions {
  /** Where the API lives, e.g. `https://migrate.example.com`. */
  apiOrigin: string;
  /** The user's uploader token. */
  token: string;
  /** Browser id of the website global data (content types and items) belongs to, when the dump has none. */
  websiteId?: string;
  /**
   * The app's id for the signed-in user, when several users share one browser profile: each gets its own
   * outbox, ETags and conflict log (database `bsm-hybrid:<userKey>`), so no write is ever sent with
   * another user's token.
   */
  userKey?: string;
  /** @defaultValue 'server-wins' */
  conflictRule?: ConflictRule;
  /** Every conflict, with both versions (also kept in `conflicts`). */
  onConflict?: (c: Conflict) => void;
  fetch?: typeof fetch;
  /** How often the mode is asked for while nothing is moving (ms). @defaultValue 30000 */
  modePollMs?: number;
  /** … and while a batch runs (migrating, switching). @defaultValue 2000 */
  busyPollMs?: number;
  /** Outbox backoff (ms) after each failed attempt; the last one repeats. */
  retryDelays?: number[];
  /** Batch status polling while following a batch (ms). @defaultValue 500 */
  pollIntervalMs?: number;
  /** `source.app` of the dumps. @defaultValue 'catalyst-studio' */
  app?: string;
  /** Resume chunk size of the snapshot upload (bytes). */
  chunkSize?: number;
}

export type { PreferenceSection };
