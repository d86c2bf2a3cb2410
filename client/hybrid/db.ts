/**
 * The hybrid client's own IndexedDB database: the outbox, the ETags last seen, the conflict log and a few
 * facts (the last mode the server confirmed). It is not the app's data, so snapshot() leaves it out (as it
 * leaves out the uploader's resume keys): a dump taken during the cutover must not carry the machinery
 * that moves it.
 *
 * One short transaction per call: the store is small, and a transaction kept across an await of the
 * network would auto-commit anyway.
 */

export const HYBRID_DB_NAME = 'bsm-hybrid';

/** `bsm-hybrid`, or `bsm-hybrid:<userKey>` when one browser profile serves several users. */
export const hybridDbName = (userKey?: string): string => (userKey ? `${HYBRID_DB_NAME}:${userKey}` : HYBRID_DB_NAME);
export const isHybridDb = (name: string): boolean => name === HYBRID_DB_NAME || name.startsWith(`${HYBRID_DB_NAME}:`);
const VERSION = 1;

export type StoreName = 'outbox' | 'etags' | 'conflicts' | 'meta';

const request = <T>(req: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

export class HybridDb {
  private conn: Promise<IDBDatabase> | null = null;

  constructor(private readonly name = HYBRID_DB_NAME) {}

  private open(): Promise<IDBDatabase> {
    this.conn ??= new Promise((resolve, reject) => {
      const req = indexedDB.open(this.name, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        // `seq` (auto-increment) is the order writes were made in: the outbox replays them by it.
        db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
        db.createObjectStore('etags', { keyPath: 'key' });
        db.createObjectStore('conflicts', { keyPath: 'logId', autoIncrement: true });
        db.createObjectStore('meta', { keyPath: 'key' });
      };
      req.onsuccess = () => {
        const db = req.result;
        // Never block another tab's upgrade (or a test deleting the database): reopen on next use.
        db.onversionchange = () => { db.close(); this.conn = null; };
        resolve(db);
      };
      req.onerror = () => { this.conn = null; reject(req.error); };
    });
    return this.conn;
  }

  /** Runs `fn` in one transaction and resolves when it committed (not merely when the requests ran). */
  async tx<T>(stores: StoreName[], mode: IDBTransactionMode, fn: (t: IDBTransaction) => Promise<T> | T): Promise<T> {
    const db = await this.open();
    const t = db.transaction(stores, mode);
    const done = new Promise<void>((resolve, reject) => {
      t.oncomplete = () => resolve();
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error ?? new Error('transaction aborted'));
    });
    const out = await fn(t);
    await done;
    return out;
  }

  get<T>(store: StoreName, key: IDBValidKey): Promise<T | undefined> {
    return this.tx([store], 'readonly', (t) => request(t.objectStore(store).get(key) as IDBRequest<T | undefined>));
  }

  all<T>(store: StoreName): Promise<T[]> {
    return this.tx([store], 'readonly', (t) => request(t.objectStore(store).getAll() as IDBRequest<T[]>));
  }

  count(store: StoreName): Promise<number> {
    return this.tx([store], 'readonly', (t) => request(t.objectStore(store).count()));
  }

  /** Stores `value`; resolves with its key (the generated one for auto-increment stores). */
  put(store: StoreName, value: unknown): Promise<IDBValidKey> {
    return this.tx([store], 'readwrite', (t) => request(t.objectStore(store).put(value)));
  }

  delete(store: StoreName, key: IDBValidKey | IDBKeyRange): Promise<void> {
    return this.tx([store], 'readwrite', (t) => request(t.objectStore(store).delete(key)).then(() => undefined));
  }

  clear(store: StoreName): Promise<void> {
    return this.tx([store], 'readwrite', (t) => request(t.objectStore(store).clear()).then(() => undefined));
  }

  /** The first record in key order (the outbox's oldest write), or undefined. */
  first<T>(store: StoreName): Promise<T | undefined> {
    return this.tx([store], 'readonly', (t) => new Promise<T | undefined>((resolve, reject) => {
      const req = t.objectStore(store).openCursor();
      req.onsuccess = () => resolve(req.result?.value as T | undefined);
      req.onerror = () => reject(req.error);
    }));
  }

  async meta<T>(key: string): Promise<T | undefined> {
    return (await this.get<{ key: string; value: T }>('meta', key))?.value;
  }

  setMeta(key: string, value: unknown): Promise<IDBValidKey> {
    return this.put('meta', { key, value });
  }

  close(): void {
    void this.conn?.then((db) => db.close(), () => undefined);
    this.conn = null;
  }
}
