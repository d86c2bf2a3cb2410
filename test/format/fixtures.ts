/** Shared dump fixtures: one content, written in both encodings (docs/format.md §1a and §1b). */
import { Readable } from 'node:stream';
import type { DumpEntry, DumpFormatError, DumpReader } from '../../format';

export const header = {
  format: 'browser-storage-dump' as const,
  version: 1 as const,
  source: { app: 'catalyst-studio', origin: 'http://localhost:3000', userAgent: 'jest', capturedAt: '2026-11-28T10:00:00.000Z' },
};

const websitesIndexes = [{ name: 'byName', keyPath: 'name', unique: false, multiEntry: false }];

/** A §1a document exercising kv areas, several dbs/stores, compound keys and tags. */
export const document = {
  ...header,
  localStorage: [
    { key: 'contentTypes', value: '[{"id":"ct_1","name":"Blog ✍️"}]' },
    { key: 'empty', value: '' },
  ],
  sessionStorage: [{ key: 'ai_prompt_website_1', value: '{"prompt":"héllo 🙂"}' }],
  indexedDB: [
    {
      name: 'catalyst_global', version: 1,
      stores: [
        {
          name: 'websites', keyPath: 'id', autoIncrement: false, indexes: websitesIndexes,
          records: [
            { key: 'website_1', value: { id: 'website_1', createdAt: { $t: 'Date', v: '2025-08-12T07:00:34.567Z' } } },
            { key: 'website_2', value: { id: 'website_2', name: null, tags: { $t: 'Set', v: ['a', 'b'] } } },
          ],
        },
        { name: 'settings', keyPath: null, autoIncrement: true, records: [{ key: 1, value: null }] },
        { name: 'empty_store', keyPath: 'id', records: [] },
      ],
    },
    {
      name: 'catalyst_website_1', version: 3,
      stores: [
        {
          name: 'content_items', keyPath: ['websiteId', 'id'],
          records: [{ key: ['website_1', 'ci_1'], value: { $t: 'Object', v: { $t: 'not a tag', n: { $t: 'number', v: 'NaN' } } } }],
        },
      ],
    },
  ],
};

/** The entries of `document`, in reading order, as both readers must yield them. */
export const entries: DumpEntry[] = [
  { area: 'localStorage', key: 'contentTypes', value: document.localStorage[0].value },
  { area: 'localStorage', key: 'empty', value: '' },
  { area: 'sessionStorage', key: 'ai_prompt_website_1', value: document.sessionStorage[0].value },
  ...document.indexedDB.flatMap((db) => db.stores.flatMap((store) => store.records.map((r): DumpEntry => ({
    area: 'indexedDB', db: db.name, dbVersion: db.version, store: store.name, keyPath: store.keyPath,
    ...('autoIncrement' in store ? { autoIncrement: store.autoIncrement } : {}),
    ...('indexes' in store ? { indexes: store.indexes } : {}),
    key: r.key, value: r.value,
  })))),
];

/** NDJSON lines of the same content: header, entries, trailer (no line breaks). */
export function ndjsonLines(list: DumpEntry[] = entries, trailerCount = list.length): string[] {
  return [JSON.stringify(header), ...list.map((e) => JSON.stringify(e)), JSON.stringify({ end: true, entries: trailerCount })];
}

/** A byte stream of `text` cut into `size`-byte chunks (splitting multi-byte characters). */
export function chunked(text: string, size = 7): Readable {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

/** Drains a reader; returns what was read before the error, and the error (a reader throws DumpFormatError). */
export async function drain(reader: DumpReader): Promise<{ read: DumpEntry[]; error?: DumpFormatError }> {
  const read: DumpEntry[] = [];
  try {
    for await (const e of reader.entries) read.push(e);
    return { read };
  } catch (error) {
    return { read, error: error as DumpFormatError };
  }
}

/** Opens and drains a dump that must be refused; returns the error and what was read before it. */
export async function refusal(open: () => Promise<DumpReader>): Promise<{ error: DumpFormatError; read: DumpEntry[] }> {
  let reader;
  try {
    reader = await open();
  } catch (error) {
    return { error: error as DumpFormatError, read: [] };
  }
  const { read, error } = await drain(reader);
  if (!error) throw new Error('expected the dump to be refused');
  return { error, read };
}
