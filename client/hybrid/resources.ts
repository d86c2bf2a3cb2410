/**
 * What the app calls: content items, content types, preferences. Each call picks its copy by mode:
 *
 * - reads: `api` → the API (the answer, with this browser's still-queued writes laid over it, refreshes
 *   the browser copy); API unreachable → the browser copy ("try the API first, fall back to
 *   localStorage"). Every other mode → the browser copy.
 * - writes: the browser copy first, always, in the app's own format (so it is a complete cache, and the
 *   truth again after a rollback); then, in every mode but `browser`, the outbox (held until `api`,
 *   flushed from then on). In `browser` mode nothing else happens.
 */
import {
  applyToList, readCollection, readLocal, readPreference, writeCollection, writeLocal, writePreference,
  PREFERENCE_SECTIONS, type CollectionName, type PreferenceSection,
} from './catalyst';
import type { ApiFailure } from './http';
import type { Outbox } from './outbox';
import type { Remote } from './remote';
import type { Seen } from './seen';
import type { Mode, ResourceName } from './types';

type Obj = Record<string, unknown>;

export interface Core {
  /** Resolves once the first mode is known; every call waits for it. */
  ready: Promise<unknown>;
  mode(): Mode;
  remote: Remote;
  seen: Seen;
  outbox: Outbox;
  /** An API answer suggests the cutover state moved: ask for the mode again. */
  suspect(): Promise<boolean>;
}

/** Counts local writes, so a slow API read never overwrites the cache with a view older than a write made meanwhile. */
let localWrites = 0;

/** The one write path (also used to apply conflict resolutions). */
export async function write(core: Core, resource: ResourceName, id: string, value: unknown): Promise<void> {
  const existed = readLocal(resource, id) !== null;
  const at = Date.now();
  localWrites++;
  writeLocal(resource, id, value); // first, synchronously: the browser copy never misses a write
  await core.ready;
  if (core.mode() === 'browser') return;
  await core.outbox.add({ resource, id, value, isNew: !existed, at });
}

/** Runs an API read; on failure (after telling the mode watch about a 404) returns null: use the cache. */
async function tryApi<T>(core: Core, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if ((err as ApiFailure).kind === 'not_found') await core.suspect();
    return null;
  }
}

export class Collection<T extends { id: string }> {
  constructor(private readonly core: Core, private readonly name: CollectionName) {}

  async list(): Promise<T[]> {
    await this.core.ready;
    if (this.core.mode() !== 'api') return readCollection(this.name) as unknown as T[];
    const before = localWrites;
    const fresh = await tryApi(this.core, async () => {
      const server = await this.core.remote.list(this.name);
      const queued = (await this.core.outbox.pending()).filter((o) => o.resource === this.name);
      // A queued write was based on the version seen before it: that stays its base (else a change made
      // elsewhere meanwhile would pass for the version we edited, and be overwritten without a conflict).
      const busy = new Set(queued.map((o) => o.id));
      await this.core.seen.recordList(this.name, (server as Array<{ id: string }>).filter((x) => !busy.has(x.id)));
      let list = server as unknown as T[];
      for (const op of queued) list = applyToList(list, op.id, op.value as T | null);
      return list;
    });
    if (fresh === null) return readCollection(this.name) as unknown as T[];
    if (localWrites === before) writeCollection(this.name, fresh);
    return fresh;
  }

  async get(id: string): Promise<T | null> {
    await this.core.ready;
    if (this.core.mode() !== 'api') return (readLocal(this.name, id) as T | null) ?? null;
    const before = localWrites;
    const fresh = await tryApi(this.core, async () => {
      const cur = await this.core.remote.get(this.name, id);
      const queued = (await this.core.outbox.pending()).filter((o) => o.resource === this.name && o.id === id);
      if (!queued.length) await this.core.seen.record(this.name, id, cur.value, cur.etag); // see list()
      return { value: (queued.length ? queued[queued.length - 1].value : cur.value) as T | null };
    });
    if (fresh === null) return (readLocal(this.name, id) as T | null) ?? null;
    if (localWrites === before) writeLocal(this.name, id, fresh.value);
    return fresh.value;
  }

  /** Creates or replaces the item with this `id` (the whole item, as the app's store holds it). */
  put(value: T): Promise<void> {
    if (!value || typeof value.id !== 'string' || value.id === '') return Promise.reject(new TypeError('put() needs an item with a string id'));
    return write(this.core, this.name, value.id, value);
  }

  remove(id: string): Promise<void> {
    return write(this.core, this.name, id, null);
  }
}

export type PreferencesDoc = Partial<Record<PreferenceSection, Obj | null>>;

export class Preferences {
  constructor(private readonly core: Core) {}

  /** All three sections (navigation, preview, projectContext); null where nothing is stored. */
  async getAll(): Promise<PreferencesDoc> {
    const local = (): PreferencesDoc => Object.fromEntries(PREFERENCE_SECTIONS.map((s) => [s, readPreference(s)]));
    await this.core.ready;
    if (this.core.mode() !== 'api') return local();
    const before = localWrites;
    const fresh = await tryApi(this.core, async () => {
      const cur = await this.core.remote.prefs();
      const queued = (await this.core.outbox.pending()).filter((o) => o.resource === 'preferences');
      const out: PreferencesDoc = {};
      for (const s of PREFERENCE_SECTIONS) {
        out[s] = (cur.doc[s] as Obj | undefined) ?? null;
        if (!queued.some((o) => o.id === s)) await this.core.seen.record('preferences', s, out[s], cur.etag); // see list()
      }
      for (const op of queued) out[op.id as PreferenceSection] = op.value as Obj | null;
      return out;
    });
    if (fresh === null) return local();
    if (localWrites === before) for (const s of PREFERENCE_SECTIONS) writePreference(s, fresh[s] ?? null);
    return fresh;
  }

  async get(section: PreferenceSection): Promise<Obj | null> {
    return (await this.getAll())[section] ?? null;
  }

  /** Replaces one section (null removes it). */
  set(section: PreferenceSection, value: Obj | null): Promise<void> {
    if (!PREFERENCE_SECTIONS.includes(section)) return Promise.reject(new TypeError(`Unknown preference section ${JSON.stringify(section)}`));
    return write(this.core, 'preferences', section, value);
  }
}
