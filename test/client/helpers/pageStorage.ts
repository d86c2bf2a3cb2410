/**
 * Page-side helpers: fill an origin's storage like the real app would, and read it back independently of
 * the uploader (to check it changed nothing). The functions run INSIDE Chromium (page.evaluate sends their
 * source), so they must be self-contained: no imports, no outer variables.
 */
import type { Page } from 'playwright-core';
import { catalystDump, type DumpDoc } from '../../fixtures/catalystDump';

// The root tsconfig has no DOM lib; these page globals are declared for this module only.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const localStorage: any;
declare const sessionStorage: any;
declare const indexedDB: any;
declare const atob: (s: string) => string;

export interface StoreSpec {
  name: string;
  keyPath: string | string[] | null;
  autoIncrement?: boolean;
  indexes?: { name: string; keyPath: string | string[]; unique?: boolean; multiEntry?: boolean }[];
  /** Values use §1c tags for what JSON cannot carry; Date, Blob and File are made real in the page. */
  records: { key?: unknown; value: unknown }[];
}

export interface StorageSpec {
  localStorage: { key: string; value: string }[];
  sessionStorage: { key: string; value: string }[];
  indexedDB: { name: string; version: number; stores: StoreSpec[] }[];
}

/** Writes the spec into the page's origin: Web Storage items and IndexedDB databases with real objects. */
export async function fillStorage(page: Page, spec: StorageSpec): Promise<void> {
  await page.evaluate(async (s: StorageSpec) => {
    const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const revive = (v: any): any => {
      if (Array.isArray(v)) return v.map(revive);
      if (v === null || typeof v !== 'object') return v;
      if (v.$t === 'Date') return new Date(v.v);
      if (v.$t === 'Blob') return new Blob([bytes(v.b64)], { type: v.type });
      if (v.$t === 'File') return new File([bytes(v.b64)], v.name, { type: v.type, lastModified: v.lastModified });
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
    };
    for (const { key, value } of s.localStorage) localStorage.setItem(key, value);
    for (const { key, value } of s.sessionStorage) sessionStorage.setItem(key, value);
    for (const db of s.indexedDB) {
      await new Promise<void>((resolve, reject) => {
        const req = indexedDB.open(db.name, db.version);
        req.onupgradeneeded = () => {
          for (const st of db.stores) {
            const os = req.result.createObjectStore(st.name, { keyPath: st.keyPath ?? undefined, autoIncrement: Boolean(st.autoIncrement) });
            for (const ix of st.indexes ?? []) os.createIndex(ix.name, ix.keyPath, { unique: Boolean(ix.unique), multiEntry: Boolean(ix.multiEntry) });
          }
        };
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const conn = req.result;
          const tx = conn.transaction(db.stores.map((st) => st.name), 'readwrite');
          for (const st of db.stores) {
            for (const r of st.records) {
              if (st.keyPath === null && !st.autoIncrement) tx.objectStore(st.name).put(revive(r.value), revive(r.key));
              else tx.objectStore(st.name).put(revive(r.value));
            }
          }
          tx.oncomplete = () => { conn.close(); resolve(); };
          tx.onerror = () => reject(tx.error);
        };
      });
    }
  }, spec);
}

/** The whole origin's storage as comparable JSON (Dates as ISO, Blobs as type+size), read without the uploader. */
export async function describeStorage(page: Page): Promise<unknown> {
  return page.evaluate(async () => {
    const kv = (area: any) => {
      const out: Record<string, string> = {};
      for (let i = 0; i < area.length; i++) out[area.key(i)] = area.getItem(area.key(i));
      return out;
    };
    const plain = (v: any): any => {
      if (v instanceof Date) return { date: v.toISOString() };
      if (v instanceof Blob) return { blob: v.type, size: v.size };
      if (Array.isArray(v)) return v.map(plain);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
      return v;
    };
    const dbs: any[] = await indexedDB.databases();
    const idb: Record<string, unknown> = {};
    for (const { name, version } of dbs.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const conn: any = await new Promise((resolve, reject) => {
        const r = indexedDB.open(name);
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const stores: Record<string, unknown> = {};
      for (const st of Array.from(conn.objectStoreNames as string[])) {
        const os = conn.transaction(st).objectStore(st);
        const get = (req: any) => new Promise<any>((resolve) => { req.onsuccess = () => resolve(req.result); });
        stores[st] = { keys: plain(await get(os.getAllKeys())), values: plain(await get(os.getAll())) };
      }
      conn.close();
      idb[`${name}@${version}`] = stores;
    }
    return { localStorage: kv(localStorage), sessionStorage: kv(sessionStorage), indexedDB: idb };
  });
}

/** The real Catalyst shapes (test/fixtures/catalystDump.ts, from docs/catalyst-layout.md), as a StorageSpec. */
export function catalystSpec(doc: DumpDoc = catalystDump()): StorageSpec {
  return {
    localStorage: doc.localStorage,
    sessionStorage: doc.sessionStorage,
    indexedDB: doc.indexedDB.map((db) => ({
      name: db.name,
      version: db.version,
      stores: db.stores.map((s) => ({ name: s.name, keyPath: s.keyPath, autoIncrement: s.autoIncrement, records: s.records })),
    })),
  };
}

/**
 * A database the app mapping does not know (so its records are preserved raw), holding a Blob and a File
 * in an auto-increment store with an index.
 */
export function mediaDb(blob: Buffer, file: Buffer): StorageSpec['indexedDB'][number] {
  return {
    name: 'catalyst-media', version: 2,
    stores: [{
      name: 'files', keyPath: 'id', autoIncrement: true,
      indexes: [{ name: 'byType', keyPath: 'type' }],
      records: [{
        value: {
          type: 'image/png', savedAt: { $t: 'Date', v: '2025-08-12T09:30:00.000Z' },
          blob: { $t: 'Blob', type: 'image/png', b64: blob.toString('base64') },
          file: { $t: 'File', type: 'application/pdf', name: 'brief.pdf', lastModified: 1754981234567, b64: file.toString('base64') },
        },
      }],
    }],
  };
}
