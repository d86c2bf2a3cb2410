/**
 * Header and entry checks shared by the NDJSON and JSON-document readers, so that both
 * encodings refuse the same things with the same codes.
 */
import { MAX_VALUE_DEPTH, MAX_VALUE_NODES, exceeds } from './bounds';
import { DumpFormatError, describeIssues, toIssues, type DumpErrorDetails } from './errors';
import { HeaderSchema, IdbEntrySchema, IdbRemovalSchema, KvEntrySchema, KvRemovalSchema } from './schema';
import { DUMP_FORMAT, DUMP_VERSION, type DumpHeader, type DumpItem } from './types';

/** Where a piece was found: a line (NDJSON) or a JSON path (document). */
export type Where = Pick<DumpErrorDetails, 'line' | 'path' | 'entryIndex'>;

export function whereText(w: Where): string {
  if (w.line !== undefined) return `line ${w.line}`;
  return w.path ? `"${w.path}"` : 'the document';
}

const HEADER_EXAMPLE = `{"format":"${DUMP_FORMAT}","version":${DUMP_VERSION},"source":{"capturedAt":"<ISO date>"}}`;

/** `format` must be exactly "browser-storage-dump" (§1). */
export function checkFormat(format: unknown, w: Where): void {
  if (format === DUMP_FORMAT) return;
  const what = format === undefined ? 'has no "format"' : `has a "format" other than "${DUMP_FORMAT}"`;
  throw new DumpFormatError('dump_invalid_header',
    `The dump header (${whereText(w)}) ${what}. This is not a browser storage dump; ` +
    `a dump starts with ${HEADER_EXAMPLE}.`, { ...w });
}

/** Version 1 is the only one this reader knows. */
export function checkVersion(version: unknown, w: Where): void {
  if (version === DUMP_VERSION) return;
  if (version === undefined) {
    throw new DumpFormatError('dump_invalid_header',
      `The dump header (${whereText(w)}) has no "version"; add "version":${DUMP_VERSION}.`, { ...w });
  }
  // A version number is not a secret; echo it when it is a short number.
  const shown = typeof version === 'number' ? ` ${version}` : '';
  throw new DumpFormatError('dump_unsupported_version',
    `Dump format version${shown} is not supported; this server reads version ${DUMP_VERSION}. ` +
    'Export the dump again with an uploader that writes version 1.', typeof version === 'number' ? { ...w, version } : { ...w });
}

/** Validates a whole header object (`format`, `version`, `source.capturedAt`). */
export function checkHeader(raw: unknown, w: Where): DumpHeader {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DumpFormatError('dump_invalid_header',
      `The dump header (${whereText(w)}) must be a JSON object like ${HEADER_EXAMPLE}.`, { ...w });
  }
  const o = raw as Record<string, unknown>;
  checkFormat(o.format, w);
  checkVersion(o.version, w);
  const parsed = HeaderSchema.safeParse(o);
  if (!parsed.success) {
    const issues = toIssues(parsed.error);
    throw new DumpFormatError('dump_invalid_header',
      `The dump header (${whereText(w)}) is invalid: ${describeIssues(issues)}. ` +
      '"source" is an object whose "capturedAt" (ISO 8601 date-time) is required.', { ...w, issues });
  }
  return parsed.data as DumpHeader;
}

/** Validates one §1b entry object (or, with `"op":"delete"`, a delta's removal: docs/cutover.md). */
export function checkEntry(raw: unknown, w: Where): DumpItem {
  const area = raw !== null && typeof raw === 'object' ? (raw as { area?: unknown }).area : undefined;
  const removal = raw !== null && typeof raw === 'object' && (raw as { op?: unknown }).op === 'delete';
  const schema = area === 'indexedDB' ? (removal ? IdbRemovalSchema : IdbEntrySchema)
    : area === 'localStorage' || area === 'sessionStorage' ? (removal ? KvRemovalSchema : KvEntrySchema) : undefined;
  if (!schema) {
    throw new DumpFormatError('dump_invalid_entry',
      `The entry at ${whereText(w)} has no valid "area": it must be "localStorage", "sessionStorage" or "indexedDB".`, { ...w });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidEntry(parsed.error, w, removal ? `${String(area)} removal` : String(area));
  const { op: _op, ...item } = parsed.data as DumpItem & { op?: string };
  const out = (removal ? parsed.data : item) as DumpItem;
  if (out.area === 'indexedDB') checkDepth({ key: out.key, value: removal ? null : (out as { value: unknown }).value }, w);
  return out;
}

/**
 * An IndexedDB key and value nest at most MAX_VALUE_DEPTH levels and hold at most MAX_VALUE_NODES values and
 * keys each (bounds.ts says why).
 */
export function checkDepth(entry: { key: unknown; value: unknown }, w: Where): void {
  for (const part of ['key', 'value'] as const) {
    const broken = exceeds(entry[part], MAX_VALUE_DEPTH, MAX_VALUE_NODES);
    if (broken === 'depth') {
      throw new DumpFormatError('dump_value_too_deep',
        `The IndexedDB ${part} of the entry at ${whereText(w)} nests arrays/objects more than ${MAX_VALUE_DEPTH} levels deep, ` +
        `the most a dump may hold (MAX_VALUE_DEPTH). Leave that record out of the dump, or flatten it.`,
        { ...w, part, maxDepth: MAX_VALUE_DEPTH });
    }
    if (broken === 'nodes') throw tooManyNodes(w, `The IndexedDB ${part} of the entry at ${whereText(w)}`, { part });
  }
}

/** `dump_value_too_large`: `what` holds more than MAX_VALUE_NODES values and keys. */
export function tooManyNodes(w: Where, what: string, details: Record<string, unknown> = {}): DumpFormatError {
  return new DumpFormatError('dump_value_too_large',
    `${what} holds more than ${MAX_VALUE_NODES.toLocaleString('en-US')} JSON values and object keys, the most one entry may hold ` +
    `(MAX_VALUE_NODES). Leave that record out of the dump, or split it into several records.`,
    { ...w, ...details, maxNodes: MAX_VALUE_NODES });
}

/** A `dump_invalid_entry` error from a zod failure, without echoing any value. */
export function invalidEntry(error: Parameters<typeof toIssues>[0], w: Where, what: string): DumpFormatError {
  const issues = toIssues(error);
  return new DumpFormatError('dump_invalid_entry',
    `The ${what} entry at ${whereText(w)} is invalid: ${describeIssues(issues)}. Fix or drop that entry and send the dump again.`,
    { ...w, issues });
}
