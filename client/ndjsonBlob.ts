/**
 * The file the uploader sends (§1b NDJSON, gzip-compressed where the browser can), built line by line
 * without ever holding it: `NdjsonSink` takes one line at a time, and both builders feed it —
 * `buildNdjsonBlob(dump)` from a dump in memory (upload(dump)), `streamNdjsonBlob()` (stream.ts) straight
 * from the storage cursors (migrate()).
 *
 * Each line is UTF-8-encoded straight into one reusable buffer (encodeInto: no per-line allocation) and
 * forgotten. A full buffer goes either into a Blob piece as it is, or through `CompressionStream('gzip')`,
 * whose output is gathered into Blob pieces of about the same size. Blobs live in the browser's blob
 * storage (outside the page's JS heap, paged to disk when large); the file is a Blob of those pieces,
 * which the uploader slices per request. What the page keeps is one buffer and, with gzip, at most one
 * piece of compressed output.
 *
 * Two digests, both over the bytes **as uploaded** (compressed, when compressed), because resuming needs
 * both (upload.ts): the entry lines + trailer name the upload across reloads (the resume fingerprint), the
 * whole file (header first) is the `sha256` the server checks.
 *
 * With gzip the file is two gzip members (RFC 1952 §2.2: a gzip file is a series of members; gunzip and
 * Node's zlib — gunzip, createGunzip, DecompressionStream — read them as one stream, while Chromium's own
 * DecompressionStream stops after the first): the header line alone, then everything after it. A resumed
 * upload swaps in the header it was started with, so the entries must not depend on the header's bytes;
 * two members make that possible without reading and compressing the storage again.
 */
import { count, emptySummary, entryLines, headerLine, trailerLine } from './ndjson';
import { bytesToHex, sha256 } from './digest';
import type { Dump, DumpSummary, Tally } from './types';

export const NDJSON_TYPE = 'application/x-ndjson';

/**
 * `gzip`: compress with CompressionStream (when the browser has none, the file is sent as it is);
 * `none`: never compress.
 */
export type Compression = 'gzip' | 'none';

/**
 * What the uploader does when the caller does not say: gzip where the browser has CompressionStream (the API
 * inflates resumable and direct uploads with metadata `contentEncoding: gzip`, docs/format.md §1g); pass
 * `compression: 'none'` for a server older than that.
 */
export const DEFAULT_COMPRESSION: Compression = 'gzip';

/** Bytes per Blob piece: few pieces for a large dump, little memory, short pauses between yields. */
export const PIECE_SIZE = 1024 * 1024;

export interface NdjsonBlob {
  /** This snapshot's header line, newline included. */
  header: string;
  /** `header` as it is sent: its UTF-8 bytes, or their own gzip member. */
  headerPart: Blob;
  /** Entry lines and the trailer line, UTF-8 (gzip-compressed when `contentEncoding` says so): everything after the header. */
  entries: Blob;
  /** Hex SHA-256 of `entries` as sent (the resume fingerprint's part). */
  entriesSha256: string;
  /** Hex SHA-256 of `headerPart` + `entries`: the file as sent when no earlier upload is resumed. */
  sha256: string;
  entryCount: number;
  summary: DumpSummary;
  /** `gzip` when the bytes are gzip-compressed (the tus metadata `contentEncoding`); undefined when plain. */
  contentEncoding: 'gzip' | undefined;
  /** The header's `source.capturedAt`. */
  capturedAt: string;
}

export interface BuildOptions {
  /** @defaultValue DEFAULT_COMPRESSION */
  compression?: Compression;
  /** Bytes per Blob piece (tests use tiny ones). @defaultValue 1 MiB */
  pieceSize?: number;
}

/** What the option gives in this browser: gzip only when asked for and CompressionStream exists. */
export function contentEncodingFor(compression: Compression | undefined): 'gzip' | undefined {
  return (compression ?? DEFAULT_COMPRESSION) === 'gzip' && typeof CompressionStream === 'function' ? 'gzip' : undefined;
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

/** Some bytes as one gzip member (the header line: small). */
async function gzipBytes(bytes: Bytes): Promise<Bytes> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The header line as sent. */
async function headerBytes(header: string, encoding: 'gzip' | undefined): Promise<Bytes> {
  const bytes = new TextEncoder().encode(header);
  return encoding === 'gzip' ? gzipBytes(bytes) : bytes;
}

/** Bytes in an ArrayBuffer of their own (what a Blob can be made of). */
type Bytes = Uint8Array<ArrayBuffer>;

interface Compressor {
  writer: WritableStreamDefaultWriter<Bytes>;
  /** Settles once the compressed stream has been read to its end. */
  drained: Promise<void>;
}

/** Takes the dump's lines one at a time; `finish()` gives the file's Blob and digests. */
export class NdjsonSink {
  readonly summary = emptySummary();
  private readonly encoder = new TextEncoder();
  private readonly buffer: Bytes;
  private used = 0;
  private readonly pieces: Blob[] = [];
  private readonly entriesHash = sha256.create();
  private readonly fileHash = sha256.create();
  private compressor: Compressor | null = null;
  /** Compressed output not yet in a piece. */
  private outChunks: Bytes[] = [];
  private outBytes = 0;

  private constructor(
    readonly header: string,
    private readonly headerPart: Bytes,
    readonly contentEncoding: 'gzip' | undefined,
    private readonly pieceSize: number,
  ) {
    this.buffer = new Uint8Array(Math.max(16, pieceSize)); // ≥ 4: room for any one UTF-8 character
    this.fileHash.update(headerPart);
    if (contentEncoding === 'gzip') this.compressor = this.startCompressor();
  }

  static async open(header: string, opts: BuildOptions = {}): Promise<NdjsonSink> {
    const encoding = contentEncodingFor(opts.compression);
    return new NdjsonSink(header, await headerBytes(header, encoding), encoding, opts.pieceSize ?? PIECE_SIZE);
  }

  /** Appends one entry line (without its newline) and counts it in `summary` under `tallies`. */
  async line(text: string, tallies: Tally[]): Promise<void> {
    const bytes = (await this.write(text)) + (await this.write('\n'));
    count(this.summary, { tallies }, bytes);
  }

  /** line() for a line given in pieces (a large record: ndjson.ts jsonPieces()). */
  async linePieces(pieces: Iterable<string>, tallies: Tally[]): Promise<void> {
    let bytes = 0;
    for (const piece of pieces) bytes += await this.write(piece);
    bytes += await this.write('\n');
    count(this.summary, { tallies }, bytes);
  }

  /** The trailer, the last bytes through the compressor, the digests. */
  async finish(): Promise<NdjsonBlob> {
    const entryCount = this.summary.total.entries;
    await this.write(trailerLine(entryCount));
    await this.flush();
    if (this.compressor) {
      await this.compressor.writer.close();
      await this.compressor.drained;
      this.cutPiece();
    }
    return {
      header: this.header,
      headerPart: new Blob([this.headerPart]),
      entries: new Blob(this.pieces),
      entriesSha256: bytesToHex(this.entriesHash.digest()),
      sha256: bytesToHex(this.fileHash.digest()),
      entryCount,
      summary: this.summary,
      contentEncoding: this.contentEncoding,
      capturedAt: (JSON.parse(this.header) as { source: { capturedAt: string } }).source.capturedAt,
    };
  }

  /** Stops the compressor after a failure (nothing else holds resources). */
  abort(reason: unknown): void {
    void this.compressor?.writer.abort(reason).catch(() => undefined);
  }

  /** Appends `text` as UTF-8, flushing as often as it takes (one record may be larger than a piece). */
  private async write(text: string): Promise<number> {
    let bytes = 0;
    for (;;) {
      const { read, written } = this.encoder.encodeInto(text, this.buffer.subarray(this.used));
      this.used += written;
      bytes += written;
      if (read === text.length) return bytes;
      text = text.slice(read); // encodeInto never splits a surrogate pair, so the rest is whole characters
      await this.flush();
    }
  }

  /** The buffer out: as a piece, or into the compressor (whose output becomes pieces). */
  private async flush(): Promise<void> {
    if (this.used === 0) return;
    const bytes = this.buffer.subarray(0, this.used);
    if (this.compressor) {
      // A copy, since the buffer is reused; waiting for the write is the stream's backpressure.
      await this.compressor.writer.write(bytes.slice());
    } else {
      this.hashOut(bytes);
      this.pieces.push(new Blob([bytes])); // the Blob constructor copies: the buffer is free again
    }
    this.used = 0;
    // Once per piece, not per line: lines can be tiny, and a turn of the event loop is not free.
    await yieldToEventLoop();
  }

  private hashOut(bytes: Bytes): void {
    this.entriesHash.update(bytes);
    this.fileHash.update(bytes);
  }

  private startCompressor(): Compressor {
    const cs = new CompressionStream('gzip');
    const writer = cs.writable.getWriter() as WritableStreamDefaultWriter<Bytes>;
    const reader = cs.readable.getReader() as ReadableStreamDefaultReader<Bytes>;
    const drained = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.hashOut(value);
        this.outChunks.push(value);
        this.outBytes += value.byteLength;
        if (this.outBytes >= this.pieceSize) this.cutPiece();
      }
    })();
    // A failure shows up in writer.write()/close() too; this one is awaited only by finish().
    drained.catch(() => undefined);
    return { writer, drained };
  }

  private cutPiece(): void {
    if (this.outBytes === 0) return;
    this.pieces.push(new Blob(this.outChunks));
    this.outChunks = [];
    this.outBytes = 0;
  }
}

/** The file for a dump held in memory (upload(dump)); migrate() streams from storage instead (stream.ts). */
export async function buildNdjsonBlob(dump: Dump, opts: BuildOptions | number = {}): Promise<NdjsonBlob> {
  const o = typeof opts === 'number' ? { pieceSize: opts } : opts;
  const sink = await NdjsonSink.open(headerLine(dump), o);
  try {
    // entryLines() adds database and store tallies to the summary it is given: the sink's.
    for (const e of entryLines(dump, sink.summary)) await sink.line(e.line, e.tallies);
    return await sink.finish();
  } catch (err) {
    sink.abort(err);
    throw err;
  }
}

/** The file as uploaded: `header` is this snapshot's, or the one an unfinished upload was started with. */
export async function ndjsonFile(built: NdjsonBlob, header: string): Promise<Blob> {
  const first = header === built.header ? built.headerPart : await headerBytes(header, built.contentEncoding);
  return new Blob([first, built.entries], { type: NDJSON_TYPE });
}
