/**
 * Reads every IndexedDB database of the origin without changing any of them.
 *
 * - Databases are opened WITHOUT a version, so no upgrade runs; if one vanished between `databases()` and
 *   `open()` the upgrade that would create it is aborted, so reading never creates a database either.
 * - Records are read with cursors, `batchSize` at a time, one short readonly transaction per batch that
 *   resumes after the last primary key. A transaction closes once control returns to the event loop,
 *   which encoding a Blob (async) does; so a batch is collected first and encoded outside it, and a big
 *   store never sits in memory twice (raw and encoded) as a `getAll()` would make it.
 * - Our connection closes itself on `versionchange`, so the app is never blocked from upgrading.
 */
import { encodeValue } from './encode';
import { isHybridDb } from './hybrid/db';
import type { DatabaseDump, IndexDump, RecordDump, StoreDump } from './types';

export interface ReadIdbOptions {
  /** Records per cursor transaction. @defaultValue 500 */
  batchSize?: number;
  /** Database names to read when the browser lacks `indexedDB.databases()` (older Firefox). */
  databases?: string[];
  /** Called after each batch, e.g. to show progress while a large store is read. */
  onRecords?: (db: string, store: string, recordsSoFar: number) => void;
}

/** Names of the origin's databases, sorted so the same storage always gives the same dump. */
export async function listDatabases(fallback?: string[]): Promise<string[]> {
  const idb = indexedDB as IDBFactory & { databases?: () => Promise<IDBDatabaseInfo[]> };
  let names: string[];
  if (typeof idb.databases === 'function') names = (await idb.databases()).map((d) => d.name).filter((n): n is string => typeof n === 'string');
  else if (fallback) names = fallback;
  else throw new Error('This browser cannot list IndexedDB databases (indexedDB.databases()); pass the names as the "databases" option.');
  return [...new Set(names)].sort(compare);
}

/** Code-unit order, the same everywhere (localeCompare is not). */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Opens an existing database at its current version; null if it no longer exists. */
function openExisting(name: string): Promise<IDBDatabase | null> {
  return new Promise((resolve, reject) => {
    let missing = false;
    const req = indexedDB.open(name);
    req.onupgradeneeded = () => {
      // Only a database that does not exist gets an upgrade here (no version was asked for): undo it.
      missing = true;
      req.transaction?.abort();
    };
    req.onsuccess = () => {
      const db = req.result;
      db.onversionchange = () => db.close();
      resolve(db);
    };
    req.onerror = (ev) => {
      if (missing) {
        ev.preventDefault();
        resolve(null);
      } else reject(req.error);
    };
  });
}

function keyPathOf(kp: string | string[] | null): string | string[] | null {
  if (kp === null || typeof kp === 'string') return kp;
  return Array.from(kp);
}

/** A readonly transaction; a connection we closed for the app's versionchange gets a clear error. */
function readonlyTx(db: IDBDatabase, store: string): IDBTransaction {
  try {
    return db.transaction(store, 'readonly');
  } catch (err) {
    if ((err as DOMException).name !== 'InvalidStateError') throw err;
    throw new Error(`The page upgraded or deleted IndexedDB database "${db.name}" while it was being read; take the snapshot again.`, { cause: err });
  }
}

function describeStore(db: IDBDatabase, name: string): Omit<StoreDump, 'records'> {
  const store = readonlyTx(db, name).objectStore(name);
  const indexes: IndexDump[] = Array.from(store.indexNames).map((n) => {
    const ix = store.index(n);
    return { name: ix.name, keyPath: keyPathOf(ix.keyPath) as string | string[], unique: ix.unique, multiEntry: ix.multiEntry };
  });
  return { name, keyPath: keyPathOf(store.keyPath), autoIncrement: store.autoIncrement, indexes };
}

interface RawRecord { key: IDBValidKey; value: unknown }

/** One cursor pass of up to `limit` records after `after` (exclusive), in its own readonly transaction. */
function readBatch(db: IDBDatabase, store: string, after: IDBValidKey | undefined, limit: number): Promise<RawRecord[]> {
  return new Promise((resolve, reject) => {
    const tx = readonlyTx(db, store);
    const range = after === undefined ? null : IDBKeyRange.lowerBound(after, true);
    const req = tx.objectStore(store).openCursor(range);
    const out: RawRecord[] = [];
    req.onsuccess = () => {
      const cursor = req.result;
      if (cursor) out.push({ key: cursor.primaryKey, value: cursor.value });
      // Not calling continue() lets the transaction finish; the next batch opens a new one.
      if (!cursor || out.length >= limit) resolve(out);
      else cursor.continue();
    };
    req.onerror = () => reject(req.error);
    tx.onabort = () => reject(tx.error ?? new Error(`reading ${store} was aborted`));
  });
}

async function readRecords(db: IDBDatabase, store: string, opts: ReadIdbOptions): Promise<RecordDump[]> {
  const limit = Math.max(1, opts.batchSize ?? 500);
  const records: RecordDump[] = [];
  let after: IDBValidKey | undefined;
  for (;;) {
    const batch = await readBatch(db, store, after, limit);
    for (const r of batch) records.push({ key: await encodeValue(r.key), value: await encodeValue(r.value) });
    opts.onRecords?.(db.name, store, records.length);
    if (batch.length < limit) return records;
    after = batch[batch.length - 1].key;
  }
}

/** Every store of one database, with schema and records; null if the database disappeared meanwhile. */
export async function readDatabase(name: string, opts: ReadIdbOptions = {}): Promise<DatabaseDump | null> {
  const db = await openExisting(name);
  if (!db) return null;
  try {
    const stores: StoreDump[] = [];
    for (const storeName of Array.from(db.objectStoreNames).sort(compare)) {
      const meta = describeStore(db, storeName);
      stores.push({ ...meta, records: await readRecords(db, storeName, opts) });
    }
    return { name: db.name, version: db.version, stores };
  } finally {
    db.close();
  }
}

/**
 * Every database of the app. The hybrid client's own database (its outbox, ETags and conflict log) is
 * not the app's data: like the uploader's resume keys it stays out of every dump, so a snapshot taken
 * during the cutover does not carry the machinery that moves it.
 */
export async function readAllDatabases(opts: ReadIdbOptions = {}): Promise<DatabaseDump[]> {
  const out: DatabaseDump[] = [];
  for (const name of await listDatabases(opts.databases)) {
    if (isHybridDb(name)) continue;
    const db = await readDatabase(name, opts);
    if (db) out.push(db);
  }
  return out;
}
