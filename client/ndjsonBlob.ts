/**
 * The NDJSON file upload() sends, built in one pass over the dump without a second copy of it in memory.
 *
 * Each line is JSON.stringify'd, UTF-8-encoded straight into one reusable buffer (encodeInto: no
 * per-line allocation) and forgotten. A full buffer is fed to both digests and copied into a Blob (the
 * Blob constructor copies, so the buffer is reused at once); the file is a Blob of those Blobs, which
 * Chromium keeps in its blob storage (outside the page's heap, paged to disk when large), and
 * tus-js-client slices it per PATCH. What the page keeps beyond the dump itself is one buffer (each
 * line's string is garbage as soon as it is encoded).
 *
 * Two digests, because resuming needs both (upload.ts): the entry lines (+ trailer) name the upload
 * across reloads, the whole file (header first) is the `sha256` the server checks.
 */
import { count, emptySummary, entryLines, headerLine, trailerLine } from './ndjson';
import { bytesToHex, sha256 } from './digest';
import type { Dump, DumpSummary } from './types';

export const NDJSON_TYPE = 'application/x-ndjson';

/** Bytes per Blob piece: few pieces for a large dump, little memory, short pauses between yields. */
const PIECE_SIZE = 1024 * 1024;

export interface NdjsonBlob {
  /** This snapshot's header line, newline included. */
  header: string;
  /** Entry lines and the trailer line, UTF-8: everything after the header. */
  entries: Blob;
  /** Hex SHA-256 of `entries` (the resume fingerprint's part). */
  entriesSha256: string;
  /** Hex SHA-256 of `header` + `entries`: the file as sent when no earlier upload is resumed. */
  sha256: string;
  entryCount: number;
  summary: DumpSummary;
}

/**
 * One macrotask turn, so a large dump does not freeze the page while it is encoded and hashed (a few
 * seconds for hundreds of MB). MessageChannel, because timers are throttled to 1/s in background tabs.
 */
function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel !== 'function') return new Promise((resolve) => setTimeout(resolve, 0));
  return new Promise((resolve) => {
    const { port1: receiver, port2 } = new MessageChannel();
    // Typed structurally: the Node types (tests type-check this file too) declare no `onmessage`, though
    // Node's ports have it; in browsers setting it also starts the port.
    const port1 = receiver as unknown as { onmessage: (() => void) | null; close(): void };
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

export async function buildNdjsonBlob(dump: Dump, pieceSize = PIECE_SIZE): Promise<NdjsonBlob> {
  const encoder = new TextEncoder();
  const header = headerLine(dump);
  const buffer = new Uint8Array(Math.max(16, pieceSize)); // ≥ 4: room for any one UTF-8 character
  let used = 0;
  const pieces: Blob[] = [];
  const entriesHash = sha256.create();
  const fileHash = sha256.create().update(encoder.encode(header));

  const flush = () => {
    if (used === 0) return;
    const bytes = buffer.subarray(0, used);
    entriesHash.update(bytes);
    fileHash.update(bytes);
    pieces.push(new Blob([bytes]));
    used = 0;
  };
  /** Appends `text` as UTF-8, flushing as often as it takes (one record may be larger than a piece). */
  const write = (text: string): number => {
    let bytes = 0;
    for (;;) {
      const { read, written } = encoder.encodeInto(text, buffer.subarray(used));
      used += written;
      bytes += written;
      if (read === text.length) return bytes;
      text = text.slice(read); // encodeInto never splits a surrogate pair, so the rest is whole characters
      flush();
    }
  };

  const summary = emptySummary();
  let yieldedAt = 0;
  for (const e of entryLines(dump, summary)) {
    count(summary, e, write(e.line) + write('\n'));
    // Yield once per piece, not per line: lines can be tiny, and a turn of the event loop is not free.
    if (pieces.length !== yieldedAt) {
      yieldedAt = pieces.length;
      await yieldToEventLoop();
    }
  }
  const entryCount = summary.total.entries;
  write(trailerLine(entryCount));
  flush();
  return {
    header,
    entries: new Blob(pieces),
    entriesSha256: bytesToHex(entriesHash.digest()),
    sha256: bytesToHex(fileHash.digest()),
    entryCount,
    summary,
  };
}

/** The file as uploaded: `header` is this snapshot's, or the one an unfinished upload was started with. */
export function ndjsonFile(built: NdjsonBlob, header: string): Blob {
  return new Blob([header, built.entries], { type: NDJSON_TYPE });
}
