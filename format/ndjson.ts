/**
 * docs/format.md §1b reader: header line, one entry per line, trailer last. Memory is bounded
 * by the longest line, i.e. the largest single entry.
 */
import { StringDecoder } from 'node:string_decoder';
import { DumpFormatError } from './errors';
import { TrailerSchema } from './schema';
import { isRemoval, type DumpInput, type DumpItem, type DumpReader, type RawDumpEntry, type RawDumpItem, type RawKvEntry, type ReadOptions } from './types';
import { jsonTextNodes, MAX_ENTRY_NODES } from './bounds';
import { checkEntry, checkHeader, tooManyNodes } from './validate';
import { RAW_STRINGS, readRawStringEntry } from './rawStrings';
import { decodePieces } from './utf8';

interface Line {
  /** Without the line break (`\n` or `\r\n`). */
  readonly text: string;
  /** 1-based. */
  no: number;
  /** False for a last line that the input ended in the middle of (no line break). */
  terminated: boolean;
  /** A long line read as bytes (readByteLines): its bytes, which `text` decodes only when asked. */
  pieces?: readonly Buffer[];
}

/**
 * The longest line (one entry) read: memory is bounded by one entry, so one entry must be bounded too, or a
 * single giant line could exhaust the API's or a worker's heap. 128 Mi characters is far above any real
 * browser value (a Blob of ~90 MB base64-encoded).
 */
export const NDJSON_LIMITS = { maxLineChars: 128 * 1024 * 1024 };

const lineTooLong = (line: number) =>
  new DumpFormatError('dump_entry_too_large', `Line ${line} is longer than ${NDJSON_LIMITS.maxLineChars} characters; one entry this large cannot be migrated. Leave it out of the dump.`, { line });

/** A line's text without its final CR, and on the first line without a leading BOM (not data). */
function trimLine(text: string, first: boolean): string {
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}

/** Splits the input into lines, holding only the current line. */
async function* readLines(input: DumpInput): AsyncGenerator<Line, void, undefined> {
  const decoder = new StringDecoder('utf8'); // multi-byte characters may straddle chunks
  let parts: string[] = []; // pieces of the current line; joined once, so long lines stay O(n)
  let partChars = 0;
  let no = 0;
  const tooLong = () => lineTooLong(no + 1);
  const take = (): string => {
    const text = trimLine(parts.join(''), no === 0);
    parts = [];
    partChars = 0;
    return text;
  };
  for await (const chunk of input as AsyncIterable<Buffer | Uint8Array | string>) {
    const s = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let start = 0;
    for (let nl = s.indexOf('\n'); nl !== -1; nl = s.indexOf('\n', start)) {
      if (partChars + nl - start > NDJSON_LIMITS.maxLineChars) throw tooLong();
      parts.push(s.slice(start, nl));
      start = nl + 1;
      const text = take();
      yield { text, no: ++no, terminated: true };
    }
    if (start < s.length) {
      partChars += s.length - start;
      if (partChars > NDJSON_LIMITS.maxLineChars) throw tooLong();
      parts.push(s.slice(start));
    }
  }
  const rest = decoder.end(); // (a last line's cut-off character: one more U+FFFD, which counts too)
  if (partChars + rest.length > NDJSON_LIMITS.maxLineChars) throw tooLong();
  if (rest) parts.push(rest);
  if (parts.length) {
    const text = take();
    yield { text, no: ++no, terminated: false };
  }
}

/**
 * readLines for a consumer that takes long lines as bytes (`rawStrings`): the input is split at its line
 * breaks as bytes, a line shorter than RAW_STRINGS.minBytes is decoded as readLines decodes it (a decoder
 * per line, fed the same pieces: the same text, U+FFFD for the same broken bytes), and a longer one is
 * yielded as its pieces, decoded only if its reader asks for `text`. A line past NDJSON_LIMITS' characters
 * is refused as readLines refuses it: its bytes bound its characters from above, so a line whose bytes pass
 * the limit is decoded from then on and its characters counted. Text input goes to readLines.
 */
async function* readByteLines(input: DumpInput): AsyncGenerator<Line, void, undefined> {
  type Chunk = Buffer | Uint8Array | string;
  // Any iterable for-await takes (a stream, a generator, an array), as readLines takes it.
  const iterable = input as AsyncIterable<Chunk> | Iterable<Chunk>;
  const source: AsyncIterator<Chunk> = Symbol.asyncIterator in iterable
    ? iterable[Symbol.asyncIterator]()
    : (async function* () { yield* iterable; })();
  try {
    const first = await source.next();
    if (first.done) return;
    if (typeof first.value === 'string') {
      yield* readLines((async function* () {
        yield first.value;
        for (let r = await source.next(); !r.done; r = await source.next()) yield r.value;
      })());
    } else yield* splitBytes(source, first);
  } finally {
    await source.return?.(); // a reader that stops early (or fails) stops the input, as for-await would
  }
}

async function* splitBytes(source: AsyncIterator<Buffer | Uint8Array | string>, first: IteratorResult<Buffer | Uint8Array | string>): AsyncGenerator<Line, void, undefined> {
  let pieces: Buffer[] = [];
  let bytes = 0;
  let decoding: { decoder: StringDecoder; parts: string[]; chars: number } | undefined; // past the limit in bytes
  let no = 0;
  const tooLong = (line = no + 1) => lineTooLong(line);
  const add = (piece: Buffer) => {
    if (piece.length === 0) return;
    if (!decoding && bytes + piece.length > NDJSON_LIMITS.maxLineChars) {
      decoding = { decoder: new StringDecoder('utf8'), parts: [], chars: 0 };
      for (const p of pieces) decoding.parts.push(decoding.decoder.write(p));
      decoding.chars = decoding.parts.reduce((n, t) => n + t.length, 0);
      pieces = [];
    }
    if (decoding) {
      const text = decoding.decoder.write(piece);
      decoding.parts.push(text);
      if ((decoding.chars += text.length) > NDJSON_LIMITS.maxLineChars) throw tooLong();
    } else pieces.push(piece);
    bytes += piece.length;
  };
  const take = (terminated: boolean): Line => {
    const decoded = decoding !== undefined;
    const line = lineOf(pieces, decoding, no === 0, ++no, terminated);
    if (decoded && line.text.length > NDJSON_LIMITS.maxLineChars) throw tooLong(line.no); // (the decoder's last bytes)
    pieces = [];
    bytes = 0;
    decoding = undefined;
    return line;
  };
  for (let r: IteratorResult<Buffer | Uint8Array | string> = first; !r.done; r = await source.next()) {
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      add(chunk.subarray(start, nl));
      start = nl + 1;
      yield take(true);
    }
    if (start < chunk.length) add(chunk.subarray(start));
  }
  if (pieces.length || decoding) yield take(false);
}

/** A line of readByteLines from its bytes (or its decoded parts), without a final CR or a first line's BOM. */
function lineOf(pieces: Buffer[], decoding: { decoder: StringDecoder; parts: string[] } | undefined, first: boolean, no: number, terminated: boolean): Line {
  if (decoding) {
    decoding.parts.push(decoding.decoder.end());
    return { text: trimLine(decoding.parts.join(''), first), no, terminated };
  }
  const bytes = pieces.reduce((n, p) => n + p.length, 0);
  if (bytes < RAW_STRINGS.minBytes) return { text: trimLine(decodePieces(pieces), first), no, terminated };
  // Kept as bytes: the CR and BOM come off the bytes (the same text once decoded).
  const last = pieces[pieces.length - 1];
  if (last.length > 0 && last[last.length - 1] === 0x0d) pieces[pieces.length - 1] = last.subarray(0, -1);
  if (first) dropBom(pieces);
  let text: string | undefined;
  return {
    get text() {
      return (text ??= decodePieces(pieces));
    },
    no,
    terminated,
    pieces,
  };
}

/** Drops a leading UTF-8 BOM (EF BB BF) from the pieces, wherever they cut it. */
function dropBom(pieces: Buffer[]): void {
  const head = Buffer.concat(pieces.slice(0, 3)).subarray(0, 3);
  if (!head.equals(BOM)) return;
  for (let left = 3, i = 0; left > 0; i++) {
    const cut = Math.min(left, pieces[i].length);
    pieces[i] = pieces[i].subarray(cut);
    left -= cut;
  }
}
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Blank: only whitespace. A long line's bytes answer without decoding it when its first non-blank byte is ASCII. */
const isBlank = (line: Line) => {
  if (line.pieces) {
    for (const p of line.pieces) {
      for (const c of p) {
        if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) continue;
        if (c < 0x80) return false;
        return line.text.trim() === '';
      }
    }
    return true;
  }
  return line.text.trim() === '';
};


/**
 * A line holding more values and keys than an entry may (bounds.ts MAX_ENTRY_NODES) is refused before
 * JSON.parse builds them, so that a line of 40 million `{}` costs one scan of its text, not gigabytes of heap.
 * A shorter line cannot hold that many; after the parse, checkEntry checks the key and the value each.
 */
function parseLine(line: Line): unknown {
  if (line.text.length > MAX_ENTRY_NODES && jsonTextNodes(line.text, MAX_ENTRY_NODES) > MAX_ENTRY_NODES) {
    throw tooManyNodes({ line: line.no }, `Line ${line.no}`);
  }
  try {
    return JSON.parse(line.text);
  } catch (err) {
    // Never pass on JSON.parse's message: it quotes the input, which may be a secret.
    const position = /position (\d+)/.exec(String((err as Error).message))?.[1];
    const details = { line: line.no, ...(position ? { column: Number(position) + 1 } : {}) };
    if (!line.terminated) {
      throw new DumpFormatError('dump_truncated',
        `The dump ends in the middle of line ${line.no}: the upload was cut off. The dump is refused as a whole; send the complete dump again.`, details);
    }
    const hint = line.no === 1
      ? ' If this is a JSON document (docs/format.md §1a) rather than NDJSON, send it as application/json.'
      : ' Each line must be one complete JSON object; re-export the dump.';
    throw new DumpFormatError('dump_invalid_json', `Line ${line.no} of the NDJSON dump is not valid JSON.${hint}`, details);
  }
}

/** A Web Storage entry (not a removal) from a line's text, as readEntries would read it; undefined for any other line. */
function kvEntryOf(text: string, no: number, entryIndex: number): RawKvEntry | undefined {
  const value = JSON.parse(text) as unknown;
  if (isTrailer(value)) return undefined;
  const entry = checkEntry(value, { line: no, entryIndex });
  return !isRemoval(entry) && entry.area !== 'indexedDB' ? entry : undefined;
}

function isTrailer(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && 'end' in v && !('area' in v);
}

/**
 * Reads the header line and returns a reader whose `entries` continues from line 2. Removal lines
 * (`{"op":"delete"}`) are read only for a delta (`openNdjsonDelta`); in a dump they are refused.
 */
export function openNdjson(input: DumpInput): Promise<DumpReader>;
export function openNdjson(input: DumpInput, opts: ReadOptions): Promise<DumpReader<RawDumpEntry>>;
export function openNdjson(input: DumpInput, opts: ReadOptions = {}): Promise<DumpReader<RawDumpEntry>> {
  return open(input, false, opts.rawStrings ?? false) as Promise<DumpReader<RawDumpEntry>>;
}

/** A delta (docs/cutover.md): like a dump, and its entries may be removals. */
export function openNdjsonDelta(input: DumpInput): Promise<DumpReader<DumpItem>>;
export function openNdjsonDelta(input: DumpInput, opts: ReadOptions): Promise<DumpReader<RawDumpItem>>;
export function openNdjsonDelta(input: DumpInput, opts: ReadOptions = {}): Promise<DumpReader<RawDumpItem>> {
  return open(input, true, opts.rawStrings ?? false);
}

async function open(input: DumpInput, removals: boolean, rawStrings: boolean): Promise<DumpReader<RawDumpItem>> {
  const lines = rawStrings ? readByteLines(input) : readLines(input);
  let first: Line | undefined;
  try {
    for (let r = await lines.next(); !r.done; r = await lines.next()) {
      if (!isBlank(r.value)) { first = r.value; break; }
    }
    if (!first) {
      throw new DumpFormatError('dump_truncated',
        'The dump is empty. An NDJSON dump starts with the header line {"format":"browser-storage-dump","version":1,"source":{...}}.');
    }
    // §1b "Line 1, the header"
    const header = checkHeader(parseLine(first), { line: first.no });
    return { header, entries: readEntries(lines, first.no, removals), headerComplete: true };
  } catch (err) {
    await lines.return(); // stop reading (and let the input be destroyed)
    throw err;
  }
}

async function* readEntries(lines: AsyncGenerator<Line, void, undefined>, headerLine: number, removals: boolean): AsyncGenerator<RawDumpItem, void, undefined> {
  let count = 0;
  let lastLine = headerLine;
  let trailerLine: number | undefined;
  for await (const line of lines) {
    lastLine = line.no;
    if (isBlank(line)) continue; // blank lines, including the final newline, carry nothing
    if (trailerLine !== undefined) {
      throw new DumpFormatError('dump_trailing_data',
        `Line ${line.no} comes after the trailer on line ${trailerLine}; the trailer must be the last line. The dump is refused as a whole; re-export it.`,
        { line: line.no });
    }
    // A long line holding one large Web Storage value: read from its bytes when that gives what the
    // reading below gives (format/rawStrings.ts); otherwise, and for everything else, the usual way.
    const raw = line.pieces && readRawStringEntry(line.pieces, (skeleton) => kvEntryOf(skeleton, line.no, count));
    if (raw) {
      count++;
      yield raw;
      continue;
    }
    const value = parseLine(line);
    if (isTrailer(value)) {
      const trailer = TrailerSchema.safeParse(value);
      if (!trailer.success) {
        throw new DumpFormatError('dump_invalid_trailer',
          `Line ${line.no} is not a valid trailer; it must be {"end":true,"entries":N} with N the number of entry lines.`,
          { line: line.no });
      }
      // §1b "A stream without a trailer, or whose count differs, is truncated and must be refused as a whole"
      if (trailer.data.entries !== count) {
        throw new DumpFormatError('dump_count_mismatch',
          `The trailer on line ${line.no} announces ${trailer.data.entries} entries but ${count} entry lines came before it: ` +
          'the dump is incomplete or damaged and is refused as a whole. Send the complete dump again.',
          { line: line.no, expected: trailer.data.entries, actual: count });
      }
      trailerLine = line.no;
      continue;
    }
    const entry = checkEntry(value, { line: line.no, entryIndex: count });
    if (!removals && isRemoval(entry)) {
      throw new DumpFormatError('dump_removal_outside_delta',
        `Line ${line.no} is a removal ({"op":"delete"}); removals belong in a delta (POST /v1/batches/:id/delta), not in a dump.`, { line: line.no });
    }
    count++;
    yield entry;
  }
  if (trailerLine === undefined) {
    throw new DumpFormatError('dump_truncated',
      `The NDJSON dump ended after line ${lastLine} without its trailer {"end":true,"entries":N}: the upload was cut off ` +
      'or the exporter did not finish. The dump is refused as a whole; send the complete dump again.',
      { line: lastLine, entriesRead: count });
  }
}
