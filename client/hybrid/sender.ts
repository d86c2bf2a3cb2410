/**
 * Sends one outbox write to the data API, with its precondition, and settles what comes back:
 *
 * - success: the server's version becomes what this browser has seen (ETag + digest) and, unless a later
 *   write of the same resource is still queued, the browser copy (cache) takes the server's version;
 * - 412 (or the item vanished under an ETag we held): the server's version is fetched. If it is still what
 *   we had seen (only another preference section moved the document's ETag), the write is simply retried
 *   on the new ETag. Otherwise it is a conflict: the later queued writes of that resource fold into it
 *   (the last one is the local intent), the rule decides, `onConflict` hears of it, and the log keeps it;
 * - another 4xx: the API will never take this value; it goes to the conflict log as `rejected`;
 * - a network failure, 5xx, 429, 401/403: thrown, for the outbox to retry or stop.
 */
import { writeLocal, type CollectionName, type PreferenceSection } from './catalyst';
import type { ConflictLog } from './conflicts';
import { ApiFailure } from './http';
import type { Outbox } from './outbox';
import type { Remote, Versioned } from './remote';
import { digest } from './pure';
import type { Seen } from './seen';
import type { ConflictRule, OutboxOp } from './types';

type Obj = Record<string, unknown>;

export interface SenderDeps {
  remote: Remote;
  seen: Seen;
  outbox: Outbox;
  conflicts: ConflictLog;
  rule: ConflictRule;
  /** The server answered as if the cutover state moved (a website gone): asks for the mode again; still `api`? */
  suspect: () => Promise<boolean>;
}

/** Attempts at one write when each resolution meets yet another concurrent change. */
const MAX_ROUNDS = 3;

export class Sender {
  constructor(private readonly d: SenderDeps) {}

  send = (op: OutboxOp): Promise<void> => this.round(op, 0);

  private async round(op: OutboxOp, depth: number): Promise<void> {
    if (depth >= MAX_ROUNDS) throw new ApiFailure('transient', 412, 'precondition_failed', 'the resource keeps changing under this write; trying again later');
    try {
      if (op.resource === 'preferences') await this.sendPreference(op, depth);
      else await this.sendItem(op, op.resource, depth);
    } catch (err) {
      if (!(err instanceof ApiFailure)) throw err;
      if (err.kind === 'rejected' || err.kind === 'exists') return void (await this.rejected(op, err));
      if (err.kind === 'not_found') {
        // Not a conflict (those are handled below): the website itself is gone, most likely rolled back.
        await this.d.suspect();
        throw new ApiFailure('transient', 404, err.code, err.message);
      }
      throw err;
    }
  }

  private async sendItem(op: OutboxOp, resource: CollectionName, depth: number): Promise<void> {
    const rec = await this.d.seen.get(resource, op.id);
    let ifMatch = rec?.etag ?? null;
    if (!ifMatch && rec?.hash && rec.hash !== digest(null)) {
      // Seen in a list only (no ETag): the item's ETag counts only if it is still the version we saw.
      const cur = await this.d.remote.get(resource, op.id);
      if (digest(cur.value) !== rec.hash) return this.conflict(op, cur, depth);
      ifMatch = cur.etag;
    }
    let result: Versioned;
    try {
      if (op.value === null) {
        await this.d.remote.remove(resource, op.id, ifMatch);
        result = { value: null, etag: null };
      } else {
        result = await this.d.remote.put(resource, op.id, op.value as Obj, ifMatch, Boolean(op.isNew) && !rec);
      }
    } catch (err) {
      const f = err as ApiFailure;
      if (f.kind !== 'conflict' && !(f.kind === 'not_found' && ifMatch)) throw err;
      // A 404 under an ETag is a deletion by someone else, unless the whole website went with a rollback.
      if (f.kind === 'not_found' && !(await this.d.suspect())) throw new ApiFailure('transient', 404, f.code, f.message);
      const cur = await this.d.remote.get(resource, op.id);
      if (rec?.hash && digest(cur.value) === rec.hash && cur.etag !== ifMatch) {
        await this.d.seen.record(resource, op.id, cur.value, cur.etag);
        return this.round(op, depth + 1);
      }
      return this.conflict(op, cur, depth);
    }
    await this.accepted(op, result);
  }

  /**
   * Preferences are one document of sections: read it, check our section is still what we saw, then
   * merge-patch our section under the ETag just read (a 412 there means it moved in between: go again).
   */
  private async sendPreference(op: OutboxOp, depth: number): Promise<void> {
    const section = op.id as PreferenceSection;
    const rec = await this.d.seen.get('preferences', section);
    const cur = await this.d.remote.prefs();
    const server: Versioned = { value: cur.doc[section] ?? null, etag: cur.etag };
    if (rec?.hash && digest(server.value) !== rec.hash) return this.conflict(op, server, depth);
    let result: Versioned;
    try {
      result = await this.d.remote.setPreference(section, op.value as Obj | null, cur.doc, cur.etag);
    } catch (err) {
      if ((err as ApiFailure).kind !== 'conflict') throw err;
      return this.round(op, depth + 1);
    }
    await this.accepted(op, result);
  }

  /** The server took the write: remember its version; refresh the cache unless a later write is queued. */
  private async accepted(op: OutboxOp, result: Versioned): Promise<void> {
    await this.d.seen.record(op.resource, op.id, result.value, result.etag);
    const later = (await this.d.outbox.pending()).some((o) => o.seq! > op.seq! && o.resource === op.resource && o.id === op.id);
    if (!later) writeLocal(op.resource, op.id, result.value);
  }

  private async conflict(op: OutboxOp, server: Versioned, depth: number): Promise<void> {
    const later = await this.d.outbox.takeLater(op.resource, op.id, op.seq!);
    const local = later.length ? later[later.length - 1].value : op.value;
    await this.d.seen.record(op.resource, op.id, server.value, server.etag);
    const info = { resource: op.resource, id: op.id, local, server: server.value };
    let write: unknown = undefined;
    let applied: 'server' | 'client' | 'merged' = 'server';
    if (this.d.rule === 'client-wins') [write, applied] = [local, 'client'];
    else if (typeof this.d.rule === 'function') {
      // A rule that throws must not wedge the queue: the server's version stands, ours stays in the log.
      const merged = await Promise.resolve().then(() => (this.d.rule as (c: typeof info) => unknown)(info)).catch((err) => {
        console.error('bsm hybrid client: the conflict rule threw; keeping the server\'s version', err);
        return undefined;
      });
      if (merged !== undefined) [write, applied] = [merged, 'merged'];
    }
    await this.d.conflicts.add({ ...info, reason: 'precondition_failed', applied });
    if (write === undefined) {
      writeLocal(op.resource, op.id, server.value); // the app now shows the server's version
      return;
    }
    if (applied === 'merged') writeLocal(op.resource, op.id, write);
    const exists = server.value !== null;
    if (write === null && !exists) return;
    await this.round({ ...op, value: write, isNew: !exists }, depth + 1);
  }

  private async rejected(op: OutboxOp, err: ApiFailure): Promise<void> {
    const server = await this.d.remote.get(op.resource, op.id).catch(() => ({ value: undefined }));
    await this.d.conflicts.add({
      resource: op.resource, id: op.id, local: op.value, server: server.value, reason: 'rejected', applied: 'none',
      error: { status: err.status, code: err.code, message: err.message },
    });
  }
}
