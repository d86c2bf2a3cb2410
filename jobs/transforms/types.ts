/**
 * The seam between the pipeline and an app's storage layout. A layout (Catalyst Studio, or the generic one) is a set
 * of pure functions: `classify` names the kind of each dump entry, and one transform per kind turns an
 * entry into rows. Transforms never touch the queue, the database or the object store; the phase
 * plumbing (jobs/phases/) writes what they return. Another app's layout is another folder beside catalyst/
 * (generic/ is the second one), registered in jobs/layouts.ts.
 */
import type { SealedSecret } from '../../core/crypto';

/**
 * Which phase owns an entry: a name the layout's `classify` gives (each layout declares its own, e.g.
 * Catalyst's in catalyst/kinds.ts). UNKNOWN_KIND is everyone's: entries no layout phase takes are preserved raw.
 */
export type EntryKind = string;
export const UNKNOWN_KIND = 'unknown';

/** An entry as a transform sees it. */
export interface SourceEntry {
  seq: number;
  area: 'localStorage' | 'sessionStorage' | 'indexedDB';
  dbName: string | null;
  storeName: string | null;
  /** localStorage/sessionStorage key; for IndexedDB the §1c-decoded key (a string for Catalyst; any valid key in general). */
  key: unknown;
  /** localStorage/sessionStorage: the raw stored string. IndexedDB: the §1c-decoded value (Dates are Date). */
  value: unknown;
  /** Set by the pipeline (classify's answer). */
  kind?: EntryKind;
}

/**
 * Target table names (see entities/): each layout declares the tables it writes (`Layout.tables`).
 * Row objects use the entity property names (camelCase).
 */
export type TableName = string;

export type Row = Record<string, unknown> & { id: string; sourceId: string };

/**
 * The dates a row can hold: years 1 to 9999 (UTC). JS Dates reach 271821 BC and AD 275760, but rows travel
 * to Postgres as JSON (ISO text), and Postgres reads neither year 0000 nor the extended `+010000-…` form: one
 * such date would fail its whole page. Transforms treat a date outside as invalid (an element reject); the
 * write path refuses a row that still holds one (jobs/write/upsertRows.ts toRecord).
 */
export const STORABLE_DATE_MS = {
  min: Date.parse('0001-01-01T00:00:00.000Z'), // not Date.UTC: it maps years 0–99 to 1900–1999
  max: Date.parse('9999-12-31T23:59:59.999Z'),
} as const;

export const isStorableDate = (d: Date): boolean => d.getTime() >= STORABLE_DATE_MS.min && d.getTime() <= STORABLE_DATE_MS.max;
export type RowSet = Partial<Record<TableName, Row[]>>;

/** Part of an entry that could not be migrated, with a reason a person can act on. */
export interface ElementReject {
  path: string; // e.g. 'state.contentItems[3]'
  code: string; // machine code, e.g. 'invalid_date', 'unknown_content_type'
  reason: string; // never includes secret values
}

/** A binary the pipeline must put in the object store (content-addressed) before writing rows that use `url`. */
export interface BlobToStore {
  sha256: string;
  contentType: string;
  bytes: Buffer;
}

export interface TransformResult {
  /** Default 'migrated' when rows were produced, else it must be given. */
  outcome?: 'migrated' | 'preserved' | 'rejected';
  /** Required for 'preserved' and 'rejected': what happened and what to do. */
  reason?: string;
  rows?: RowSet;
  rejects?: ElementReject[];
  blobs?: BlobToStore[];
  /** Decisions to state in the report (merged into the batch notes), e.g. deduplicated content types. */
  notes?: Record<string, unknown>;
  /**
   * For an entry whose data went into rows carried by another entry's result (a group: a website's config
   * record rides on its metadata record): that entry's seq. If none of those rows can be written, this
   * entry is not 'migrated' either.
   */
  ridesOn?: number;
}

/** Everything a transform may know about its batch; all pure. (websiteId, globalWebsite and contentTypeId are Catalyst's.) */
export interface TransformContext {
  userId: string;
  /** Deterministic row id for (kind, ...source parts), the same for the same user forever. */
  id(kind: string, ...source: string[]): string;
  /** Id of the website row for a source website id. */
  websiteId(sourceWebsiteId: string): string;
  /** Where global data (content types/items, deployment configs) goes, decided by the websites phase. */
  globalWebsite: { id: string; sourceId: string; rule: string } | null;
  /** Content-type row id for a source content-type id, after dedupe-by-name aliasing. */
  contentTypeId(sourceContentTypeId: string): string;
  /** Seals a secret with ENCRYPTION_KEY (AES-256-GCM, key id inside). */
  seal(plain: string, aad: string): SealedSecret;
  /** Stable URL of a content-addressed object (inline data: URLs are moved there). */
  assetUrl(sha256: string): string;
  /** When the browser held the state being migrated (the dump header's capturedAt, else the batch's creation). */
  capturedAt?: Date;
}
