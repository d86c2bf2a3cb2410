/**
 * streamNdjsonBlob(): the file migrate() uploads, made straight from the origin's storage without ever
 * holding the dump. Web Storage is read key by key; each IndexedDB store with cursors, in short
 * transactions of at most `batchSize` records or about `BATCH_CHARS` of lines, each record encoded (§1c)
 * and made into its line inside the cursor callback; the lines go to an NdjsonSink (ndjsonBlob.ts), which
 * hashes them and puts them (gzip-compressed where the browser can) into Blob pieces outside the JS heap.
 * So the page holds one batch of lines, one buffer and one compressed piece at a time, whatever the size
 * of the storage (test/client/memory.test.ts measures it on 300 MB).
 *
 * The bytes are exactly those buildNdjsonBlob(await snapshot()) makes from the same storage (same order,
 * same lines; test/client/stream.test.ts compares them), so the resume fingerprint of a re-run over
 * unchanged storage is the same and a reloaded page continues its upload. The §1b header carries no
 * counts (the entry count is in the trailer), so nothing needs a first pass over the storage.
 */
import { appDatabases, describeStore, openExisting, storeBatches, storeNames, type ReadIdbOptions } from './idb';
import { databaseTally, headerLine, idbLineHead, idbLineMaker, jsonPieces, kvLine, roughJsonChars, storeTallyOf } from './ndjson';
import { NdjsonSink, type BuildOptions, type NdjsonBlob } from './ndjsonBlob';
import { dumpHeader, tryArea, type SnapshotOptions } from './snapshot';
import type { DumpSummary, Json } from './types';

/**
 * Characters of lines one IndexedDB batch may hold (the JS heap holds one batch at a time). Small on
 * purpose: what a batch holds lives until the batch is written, long enough for V8 to move it to the old
 * generation, where garbage waits for a full GC. Measured on 300 MB (3,000 records of ~100 KB, test/client/memory.test.ts):
 * 4 Mi characters per batch let the heap peak 60–75 MB above its start, 512 Ki about 35 MB.
 */
export const BATCH_CHARS = 512 * 1024;

/** Lines shorter than this (in characters) are made with one JSON.stringify; longer ones in pieces. */
const SMALL_LINE = 16 * 1024;

/** A record as the batch holds it: its line, or (large) the line's head and the encoded value. */
type Item = string | { head: string; value: Json; chars: number };

function* pieces(item: { head: string; value: Json }): Generator<string> {
  yield item.head;
  yield* jsonPieces(item.value);
  yield '}';
}

export interface StreamOptions extends SnapshotOptions, BuildOptions {
  /** What has been read so far (a copy), after Web Storage and after each IndexedDB batch. */
  onSummary?: (summary: DumpSummary) => void;
  /** Characters of lines per IndexedDB batch. @defaultValue BATCH_CHARS */
  batchChars?: number;
}

export async function streamNdjsonBlob(opts: StreamOptions = {}): Promise<NdjsonBlob> {
  const sink = await NdjsonSink.open(headerLine(dumpHeader(opts)), opts);
  const summary = sink.summary;
  const report = () => opts.onSummary?.(structuredClone(summary));
  try {
    for (const area of ['localStorage', 'sessionStorage'] as const) {
      // Web Storage is small (a few MB at most) and has no cursor: its sorted keys are read at once.
      for (const { key, value } of tryArea(() => globalThis[area])) await sink.line(kvLine(area, key, value), [summary[area]]);
    }
    report();
    for (const name of await appDatabases(opts)) await streamDatabase(name, sink, opts, report);
    return await sink.finish();
  } catch (err) {
    sink.abort(err);
    throw err;
  }
}

/** One database's stores into the sink; a database gone by the time it is opened is skipped (as snapshot() does). */
async function streamDatabase(name: string, sink: NdjsonSink, opts: StreamOptions & ReadIdbOptions, report: () => void): Promise<void> {
  const db = await openExisting(name);
  if (!db) return;
  const summary = sink.summary;
  try {
    const dbTally = databaseTally(summary, db);
    for (const storeName of storeNames(db)) {
      const storeTally = storeTallyOf(dbTally, storeName);
      const tallies = [summary.indexedDB, dbTally, storeTally];
      const store = describeStore(db, storeName);
      const line = idbLineMaker(db, store);
      const head = idbLineHead(db, store);
      // A small record becomes its line at once; a large one keeps its encoded value and is written in
      // pieces, so no record is ever one string of hundreds of KB (each a large object in the heap).
      const make = (key: Json, value: Json): Item => {
        const chars = roughJsonChars(value, Infinity);
        return chars < SMALL_LINE ? line(key, value) : { head: head(key), value, chars };
      };
      for await (const items of storeBatches(db, storeName, opts, make, (i) => (typeof i === 'string' ? i.length : i.chars), opts.batchChars ?? BATCH_CHARS)) {
        for (let i = 0; i < items.length; i++) {
          const item = items[i];
          if (typeof item === 'string') await sink.line(item, tallies);
          else await sink.linePieces(pieces(item), tallies);
          items[i] = ''; // written: it need not wait for the rest of the batch
        }
        report();
      }
    }
  } finally {
    db.close();
  }
}
