/**
 * The conflict log: every change that did not reach the server as it was made — overruled by the conflict
 * rule, merged, or refused by the API — with both versions, in IndexedDB until the app resolves it. So a
 * local change is never dropped silently: even under 'server-wins' it stays here, and the app can show it,
 * re-apply it (`resolve(id, value)`) or let it go (`resolve(id)`).
 */
import type { HybridDb } from './db';
import type { Emitter } from './emitter';
import type { Conflict, HybridEvents, ResourceName } from './types';

export class ConflictLog {
  constructor(
    private readonly db: HybridDb,
    private readonly events: Emitter<HybridEvents>,
    private readonly onConflict: ((c: Conflict) => void) | undefined,
    /** Writes a resolution through the client's normal write path (browser copy, outbox). */
    private readonly write: (resource: ResourceName, id: string, value: unknown) => Promise<void>,
  ) {}

  async add(c: Omit<Conflict, 'logId' | 'at'>): Promise<Conflict> {
    const record = { ...c, at: new Date().toISOString() };
    const logId = Number(await this.db.put('conflicts', record));
    const out = { ...record, logId } as Conflict;
    this.events.emit('conflict', out);
    try {
      this.onConflict?.(out);
    } catch (err) {
      console.error('bsm hybrid client: onConflict threw', err);
    }
    return out;
  }

  /** Unresolved conflicts, oldest first. */
  list(): Promise<Conflict[]> {
    return this.db.all<Conflict>('conflicts');
  }

  get size(): Promise<number> {
    return this.db.count('conflicts');
  }

  /**
   * Settles a conflict. With `value` (null: delete) that value is written now, as a new change based on
   * the server version the conflict showed; without, the log entry is dropped and what was applied stays.
   */
  async resolve(logId: number, value?: unknown): Promise<void> {
    const c = await this.db.get<Conflict>('conflicts', logId);
    if (!c) throw new Error(`No conflict ${logId} in the log (resolved already?)`);
    if (value !== undefined) await this.write(c.resource, c.id, value);
    await this.db.delete('conflicts', logId);
  }
}
