/**
 * What this browser last saw of each server resource: its ETag (when an answer carried one) and a digest
 * of its value. A write carries the ETag as `If-Match`. A list answer carries no per-item ETags, so for an
 * item seen only in a list the digest stands in: before writing, the item is fetched, and if it still
 * digests the same its ETag is the ETag of what we saw; if not, someone changed it — a conflict, found
 * without sending anything. On a 412 the same digest tells a real conflict (our section or item changed)
 * from a harmless one (another preference section moved the document's ETag): the latter is simply
 * retried with the new ETag.
 *
 * Kept in IndexedDB, so a reload (or the outbox replaying after one) still knows what the edit was based on.
 */
import type { HybridDb } from './db';
import { digest } from './pure';
import type { ResourceName } from './types';

export interface SeenRecord {
  key: string;
  etag: string | null;
  hash: string | null;
}

export const seenKey = (resource: ResourceName, id: string): string => `${resource}/${id}`;

export class Seen {
  constructor(private readonly db: HybridDb) {}

  get(resource: ResourceName, id: string): Promise<SeenRecord | undefined> {
    return this.db.get<SeenRecord>('etags', seenKey(resource, id));
  }

  /** Records a server version (value null: the server has none). */
  async record(resource: ResourceName, id: string, value: unknown, etag: string | null): Promise<void> {
    await this.db.put('etags', { key: seenKey(resource, id), etag, hash: digest(value) } satisfies SeenRecord);
  }

  /** Every item of a list answer: digests only (lists carry no ETags); a known ETag is kept if the value is unchanged. */
  async recordList(resource: ResourceName, values: Array<{ id: string }>): Promise<void> {
    await this.db.tx(['etags'], 'readwrite', async (t) => {
      const store = t.objectStore('etags');
      for (const v of values) {
        const key = seenKey(resource, v.id);
        const hash = digest(v);
        const req = store.get(key);
        req.onsuccess = () => {
          const old = req.result as SeenRecord | undefined;
          store.put({ key, hash, etag: old && old.hash === hash ? old.etag : null } satisfies SeenRecord);
        };
      }
    });
  }

  /** After a rollback the server's versions are gone: nothing seen there is a base for a write any more. */
  clear(): Promise<void> {
    return this.db.clear('etags');
  }
}
