/**
 * Reads every IndexedDB database of the origin without changing any of them.
 *
 * - Databases are opened WITHOUT a version, so no upgrade runs; if one vanished between `databases()` and
 *   `open()` the upgrade that would create it is aborted, so reading never creates a database either.
 * - Records are read with cursors, `batchSize` at a time (and, when streaming, about `batchChars` of
 *   lines), one short readonly transaction per batch that resumes after the last primary key. A
 *   transaction closes once control returns to the event loop, so each record is encoded inside the
 *   cursor callback (synchronously; only a Blob's bytes are read afterwards, which needs no transaction),
 *   and a big store never sits in memory twice (raw and encoded) as a `getAll()` would make it.
 * - Our connection closes itself on `versionchange`, so the app is never blocked from upgrading.
 */
import { encodeNow } from './encode';
import { isHybridDb } from './hybrid/db';
import type { DatabaseDump, IndexDump, Json, RecordDump, StoreDump } from './types';

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
export function openExisting(name: string): Promise<IDBDatabase | null> {
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

export function describeStore(db: IDBDatabase, name: string): Omit<StoreDump, 'records'> {
  const store = readonlyTx(db, name).objectStore(name);
  const indexes: IndexDump[] = Array.from(store.indexNames).map((n) => {
    const ix = store.index(n);
    return { name: ix.name, keyPath: keyPathOf(ix.keyPath) as string | string[], unique: ix.unique, multiEntry: ix.multiEntry };
  });
  return { name, keyPath: keyPathOf(store.keyPath), autoIncrement: store.autoIncrement, indexes };
}

/** What one record becomes inside the cursor callback: a dump record (snapshot) or its line (streaming). */
export type MakeItem<T> = (key: Json, value: Json) => T;

interface Batch<T> {
  items: Array<T | Promise<T>>;
  /** The last primary key read: the next batch starts after it. */
  last: IDBValidKey | undefined;
  /** The cursor reached the end of the store. */
  done: boolean;
}

/**
 * One cursor pass after `after` (exclusive), in its own readonly transaction, of up to `limits.records`
 * records or until the items reach `limits.chars` (as `sizeOf` counts them). Each record is encoded (§1c)
 * and made into its item inside the cursor callback, so the raw value is garbage as soon as the callback
 * returns; a record with Blobs gets a promise (their bytes are read outside the transaction), counted at
 * the size of their base64.
 */
function readBatch<T>(db: IDBDatabase, store: string, after: IDBValidKey | undefined, limits: { records: number; chars: number },
  make: MakeItem<T>, sizeOf: (item: T) => number): Promise<Batch<T>> {
  return new Promise((resolve, reject) => {
    const tx = readonlyTx(db, store);
    const range = after === undefined ? null : IDBKeyRange.lowerBound(after, true);
    const req = tx.objectStore(store).openCursor(range);
    const items: Array<T | Promise<T>> = [];
    let last: IDBValidKey | undefined;
    let size = 0;
    req.onsuccess = () => {
      const cursor = req.result;
      // Not calling continue() lets the transaction finish; the next batch opens a new one.
      if (!cursor) return resolve({ items, last, done: true });
      try {
        last = cursor.primaryKey;
        const k = encodeNow(cursor.primaryKey);
        const v = encodeNow(cursor.value);
        if (k.pending.length + v.pending.length === 0) {
          const item = make(k.json, v.json);
          size += sizeOf(item);
          items.push(item);
        } else {
          items.push(Promise.all([...k.pending, ...v.pending]).then(() => make(k.json, v.json)));
          size += Math.ceil(((k.pendingBytes + v.pendingBytes) * 4) / 3);
        }
      } catch (err) {
        return reject(err);
      }
      if (items.length >= limits.records || size >= limits.chars) resolve({ items, last, done: false });
      else cursor.continue();
    };
    req.onerror = () => reject(req.error);
    tx.onabort = () => reject(tx.error ?? new Error(`reading ${store} was aborted`));
  });
}

/**
 * A store's records as items, batch by batch (one short transaction each), in primary-key order. At most
 * `batchSize` records and about `batchChars` (as `sizeOf` counts) are held at a time.
 */
export async function* storeBatches<T>(db: IDBDatabase, store: string, opts: ReadIdbOptions, make: MakeItem<T>,
  sizeOf: (item: T) => number = () => 0, batchChars = Infinity): AsyncGenerator<T[]> {
  const limits = { records: Math.max(1, opts.batchSize ?? 500), chars: batchChars };
  let after: IDBValidKey | undefined;
  let sofar = 0;
  for (;;) {
    const batch = await readBatch(db, store, after, limits, make, sizeOf);
    const items = await Promise.all(batch.items);
    sofar += items.length;
    if (items.length) yield items;
    opts.onRecords?.(db.name, store, sofar);
    if (batch.done) return;
    after = batch.last;
  }
}

async function readRecords(db: IDBDatabase, store: string, opts: ReadIdbOptions): Promise<RecordDump[]> {
  const records: RecordDump[] = [];
  for await (const batch of storeBatches(db, store, opts, (key, value): RecordDump => ({ key, value }))) records.push(...batch);
  return records;
}

/** The stores of an open database, sorted: the order every dump lists them in. */
export function storeNames(db: IDBDatabase): string[] {
  return Array.from(db.objectStoreNames).sort(compare);
}

/** The names of the app's databases (sorted; the hybrid client's own left out), for reading one by one. */
export async function appDatabases(opts: ReadIdbOptions = {}): Promise<string[]> {
  return (await listDatabases(opts.databases)).filter((name) => !isHybridDb(name));
}

/** Every store of one database, with schema and records; null if the database disappeared meanwhile. */
export async function readDatabase(name: string, opts: ReadIdbOptions = {}): Promise<DatabaseDump | null> {
  const db = await openExisting(name);
  if (!db) return null;
  try {
    const stores: StoreDump[] = [];
    for (const storeName of storeNames(db)) {
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
  for (const name of await appDatabases(opts)) {
    const db = await readDatabase(name, opts);
    if (db) out.push(db);
  }
  return out;
}
