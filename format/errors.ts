/**
 * The one error type of the format module. Messages are shown to uploaders and
 * operators, so they say what is wrong and what to do, and they never quote entry
 * values (a stored value may hold an API key); keys, paths and line numbers are fine.
 */
import type { z } from 'zod';

export type DumpErrorCode =
  | 'dump_invalid_json' // a line / the document is not JSON
  | 'dump_invalid_header' // header missing, or not a browser-storage-dump header
  | 'dump_unsupported_version' // a header of another version
  | 'dump_invalid_entry' // an entry (or 1a record / kv item) breaks the schema
  | 'dump_invalid_structure' // 1a document shape: wrong container types, misplaced keys
  | 'dump_missing_array' // 1a document without its localStorage / sessionStorage / indexedDB array
  | 'dump_invalid_trailer' // a line with "end" that is not a valid trailer
  | 'dump_trailing_data' // a non-blank line after the trailer
  | 'dump_truncated' // input ended early (no trailer, unterminated document)
  | 'dump_count_mismatch' // trailer count differs from the entry lines read
  | 'dump_unknown_tag' // §1c: a "$t" tag this version does not know
  | 'dump_invalid_tag' // §1c: a known tag with a malformed payload
  | 'dump_unsupported_value' // encodeValue: something structured clone cannot hold
  | 'dump_unsupported_encoding' // openDump called with neither 'json' nor 'ndjson'
  | 'dump_entry_too_large' // one NDJSON line longer than NDJSON_LIMITS.maxLineChars
  | 'dump_value_too_deep' // an IndexedDB key/value or the source nested deeper than MAX_VALUE_DEPTH (bounds.ts)
  | 'dump_value_too_large' // an IndexedDB key/value or the source held more than MAX_VALUE_NODES values and keys (bounds.ts)
  | 'dump_removal_outside_delta'; // {"op":"delete"} in a dump that is not a delta (docs/cutover.md)

/** A schema problem, stripped of the offending input (zod can be told to echo it). */
export interface DumpIssue {
  path: string;
  code: string;
  message: string;
}

export interface DumpErrorDetails {
  /** 1-based line number (NDJSON). */
  line?: number;
  /** JSON path of the problem: `indexedDB[0].stores[1].records[7]`, `value.a[2]`. */
  path?: string;
  /** 0-based index of the entry in reading order. */
  entryIndex?: number;
  issues?: DumpIssue[];
  [k: string]: unknown;
}

export class DumpFormatError extends Error {
  readonly code: DumpErrorCode;
  readonly details: DumpErrorDetails;

  constructor(code: DumpErrorCode, message: string, details: DumpErrorDetails = {}) {
    super(message);
    this.name = 'DumpFormatError';
    this.code = code;
    this.details = details;
  }

  /** The body shape of docs/http-api.md §2 errors, ready for `res.status(400).json(err)`. */
  toJSON(): { error: { code: DumpErrorCode; message: string; details: DumpErrorDetails } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export function isDumpFormatError(err: unknown): err is DumpFormatError {
  return err instanceof DumpFormatError;
}

/** Formats a path like `indexedDB[0].stores[1]` from its segments. */
export function formatPath(segments: ReadonlyArray<string | number>): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Zod issues without `input`: only where and what, never the value itself. */
export function toIssues(error: z.ZodError): DumpIssue[] {
  return error.issues.map((i) => ({
    path: formatPath(i.path.filter((p): p is string | number => typeof p !== 'symbol')),
    code: i.code,
    message: i.message,
  }));
}

/** One-line summary of issues for messages, e.g. `value: expected string, received number`. */
export function describeIssues(issues: DumpIssue[]): string {
  return issues
    .slice(0, 3)
    .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
    .join('; ');
}
