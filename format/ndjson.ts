/**
 * docs/format.md §1b reader: header line, one entry per line, trailer last. Memory is bounded
 * by the longest line, i.e. the largest single entry.
 */
import { StringDecoder } from 'node:string_decoder';
import { DumpFormatError } from './errors';
import { TrailerSchema } from './schema';
import { isRemoval, type DumpInput, type DumpItem, type DumpReader } from './types';
import { jsonTextNodes, MAX_ENTRY_NODES } from './bounds';
import { checkEntry, checkHeader, tooManyNodes } from './validate';

interface Line {
  /** Without the line break (`\n` or `\r\n`). */
  text: string;
  /** 1-based. */
  no: number;
  /** False for a last line that the input ended in the middle of (no line break). */
  terminated: boolean;
}

/**
 * The longest line (one entry) read: memory is bounded by one entry, so one entry must be bounded too, or a
 * single giant line could exhaust the API's or a worker's heap. 128 Mi characters is far above any real
 * browser value (a Blob of ~90 MB base64-encoded).
 */
export const NDJSON_LIMITS = { maxLineChars: 128 * 1024 * 1024 };

/** Splits the input into lines, holding only the current line. */
async function* readLines(input: DumpInput): AsyncGenerator<Line, void, undefined> {
  const decoder = new StringDecoder('utf8'); // multi-byte characters may straddle chunks
  let parts: string[] = []; // pieces of the current line; joined once, so long lines stay O(n)
  let partChars = 0;
  let no = 0;
  const tooLong = () =>
    new DumpFormatError('dump_entry_too_large', `Line ${no + 1} is longer than ${NDJSON_LIMITS.maxLineChars} characters; one entry this large cannot be migrated. Leave it out of the dump.`, { line: no + 1 });
  const take = (): string => {
    let text = parts.join('');
    parts = [];
    partChars = 0;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (no === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a leading BOM is not data
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
  const rest = decoder.end();
  if (rest) parts.push(rest);
  if (parts.length) {
    const text = take();
    yield { text, no: ++no, terminated: false };
  }
}

const isBlank = (line: Line) => line.text.trim() === '';

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

function isTrailer(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && 'end' in v && !('area' in v);
}

/**
 * Reads the header line and returns a reader whose `entries` continues from line 2. Removal lines
 * (`{"op":"delete"}`) are read only for a delta (`openNdjsonDelta`); in a dump they are refused.
 */
export function openNdjson(input: DumpInput): Promise<DumpReader> {
  return open(input, false) as Promise<DumpReader>;
}

/** A delta (docs/cutover.md): like a dump, and its entries may be removals. */
export function openNdjsonDelta(input: DumpInput): Promise<DumpReader<DumpItem>> {
  return open(input, true);
}

async function open(input: DumpInput, removals: boolean): Promise<DumpReader<DumpItem>> {
  const lines = readLines(input);
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

async function* readEntries(lines: AsyncGenerator<Line, void, undefined>, headerLine: number, removals: boolean): AsyncGenerator<DumpItem, void, undefined> {
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
