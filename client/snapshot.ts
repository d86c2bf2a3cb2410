/**
 * snapshot(): a faithful, read-only copy of this origin's storage as a dump (docs/format.md §1).
 * Nothing is written, changed or deleted: the app decides what to do with its data once the server reports
 * the batch `completed`, so a server-side rollback always has the browser copy to fall back on.
 */
import { compare, readAllDatabases, type ReadIdbOptions } from './idb';
import { RESUME_KEY_PREFIX } from './resumeStore';
import { DUMP_FORMAT, DUMP_VERSION, type Dump, type KvItem } from './types';

export interface SnapshotOptions extends ReadIdbOptions {
  /** `source.app` in the dump header, e.g. "catalyst-studio". */
  app?: string;
}

/**
 * Every key of a Web Storage area, sorted so equal storage gives an equal dump (a resumed upload relies
 * on that). The uploader's own resume bookkeeping (RESUME_KEY_PREFIX) is not the app's data: left out.
 */
export function readWebStorage(area: Storage): KvItem[] {
  const out: KvItem[] = [];
  for (let i = 0; i < area.length; i++) {
    const key = area.key(i);
    if (key === null || key.startsWith(RESUME_KEY_PREFIX)) continue;
    const value = area.getItem(key);
    if (value !== null) out.push({ key, value });
  }
  return out.sort((a, b) => compare(a.key, b.key));
}

/** A storage area the page may not reach (sandboxed iframe, blocked cookies) counts as empty. */
export function tryArea(get: () => Storage): KvItem[] {
  let area: Storage;
  try {
    area = get();
  } catch {
    return [];
  }
  return readWebStorage(area);
}

/** The dump's header fields: taken now, from this page. */
export function dumpHeader(opts: SnapshotOptions): Pick<Dump, 'format' | 'version' | 'source'> {
  return {
    format: DUMP_FORMAT,
    version: DUMP_VERSION,
    source: {
      ...(opts.app ? { app: opts.app } : {}),
      origin: location.origin,
      userAgent: navigator.userAgent,
      capturedAt: new Date().toISOString(),
    },
  };
}

/**
 * The whole dump in memory: for small uses (the demo page shows it before uploading, the hybrid client
 * compares it with the server). migrate() streams from storage instead and holds none of it (stream.ts).
 */
export async function snapshot(opts: SnapshotOptions = {}): Promise<Dump> {
  const header = dumpHeader(opts);
  const localStorageItems = tryArea(() => globalThis.localStorage);
  const sessionStorageItems = tryArea(() => globalThis.sessionStorage);
  const databases = await readAllDatabases(opts);
  return {
    ...header,
    localStorage: localStorageItems,
    sessionStorage: sessionStorageItems,
    indexedDB: databases,
  };
}
