/**
 * A storage layout: how one app's browser storage maps to rows. The pipeline is generic; everything
 * app-specific is here. Per-entry transforms stream; group transforms see every entry of their kinds at
 * once (for rows built from several entries, e.g. a website from its metadata and config section).
 */
import type { JsonListOutline } from '../../format/jsonOutline';
import type { EntryKind, SourceEntry, TableName, TransformContext, TransformResult } from './types';

export type EntryTransform = (entry: SourceEntry, ctx: TransformContext) => TransformResult;

/** Result per entry seq; rows may be attached to any one of the entries. */
export type GroupTransform = (entries: SourceEntry[], ctx: TransformContext) => Map<number, TransformResult>;

/**
 * A transform whose entry is a list of independent elements (Catalyst's `content-storage`: every content
 * item in ONE localStorage value). A large entry of such a kind is split into slices that the workers map
 * and write side by side (jobs/phases/slices.ts); mapping all slices must give exactly what the whole-entry
 * transform gives.
 */
export interface SlicedTransform {
  /**
   * The entry's elements (and notes about its envelope), or null when the value has no element list or
   * cannot be mapped at all: the whole-entry transform then runs and says why.
   */
  split(entry: SourceEntry, ctx: TransformContext): { elements: unknown[]; path: string; notes?: Record<string, unknown> } | null;
  /**
   * Optional: the same split from a string value's JSON text, without parsing it (format/jsonOutline.ts):
   * where each element's text is and its key (keyOf's answer), so the slices are staged as the elements'
   * own text. null where split gives null; undefined where the outline cannot tell (split then decides).
   */
  splitText?(text: string, ctx: TransformContext): { list: JsonListOutline; path: string; notes?: Record<string, unknown> } | null | undefined;
  /**
   * Elements with one key land in the same slice, in their order (a repeated id: the first is kept);
   * null for an element without one (it is rejected wherever it lands).
   */
  keyOf(element: unknown): string | null;
  /**
   * Rows, element rejects and blobs of some elements (`index`: the element's position in the whole list,
   * ascending; `path`: where split found the list, for reject paths). Outcome and notes are the pipeline's.
   */
  map(slice: { index: number; element: unknown }[], path: string, ctx: TransformContext): TransformResult;
}

export interface GroupTransformSpec {
  kinds: EntryKind[];
  run: GroupTransform;
  /**
   * Which entries `run` must see together (e.g. one website's records, one chat session's copies). With it,
   * the pipeline hands `run` pages of whole buckets, so memory stays bounded however large the dump; without
   * it, `run` gets every pending entry of `kinds` at once (only for groups that stay small).
   */
  bucketOf?: (e: SourceEntry) => string;
}

/**
 * One phase of a layout, between the pipeline's own `ingest` and its `preserve`, `prune`, `verify`
 * (jobs/names.ts). By default it is the generic entry phase over `kinds` (jobs/phases/entryPhase.ts).
 * `custom` says the phase needs I/O of its own (Catalyst's websites phase): the layout registry
 * (jobs/layouts.ts) binds a handler of that name, which lives at phase level (jobs/phases/<layout>/),
 * since transforms never do I/O.
 */
export interface LayoutPhase {
  name: string;
  /** The entry kinds this phase consumes (pages through, transforms and settles). */
  kinds: readonly EntryKind[];
  custom?: boolean;
  /**
   * The layout's phases this one needs done first (their rows, their notes), each named earlier in the list;
   * by default the phase before it. Phases that need nothing of each other run side by side (jobs/pipeline.ts).
   */
  after?: readonly string[];
}

export interface Layout {
  /** The name a batch records (`migration_batches.layout`) and an upload selects (`?layout=`). */
  name: string;
  /** Every kind `classify` may answer, UNKNOWN_KIND included. */
  kinds: readonly EntryKind[];
  classify(e: { area: string; dbName: string | null; storeName: string | null; key: unknown }): EntryKind;
  /** Kinds whose staged values are sealed at rest (they hold secrets). */
  secretKinds: readonly EntryKind[];
  transforms: Partial<Record<EntryKind, EntryTransform>>;
  groupTransforms: Partial<Record<EntryKind, GroupTransformSpec>>;
  /** Kinds whose large entries may be split into slices (never a secret kind: slices are staged in clear). */
  slicedTransforms?: Partial<Record<EntryKind, SlicedTransform>>;
  /**
   * The tables its transforms write, parents first (foreign keys hold at each statement; rollback and
   * prune walk them backwards). `preserved_entries` is the pipeline's own and is not listed: writeOrder adds it.
   */
  tables: readonly TableName[];
  /** Its phases in dependency order (each named once, none named like a pipeline phase). */
  phases: readonly LayoutPhase[];
}

/** The pipeline's table for entries a layout keeps raw (jobs/phases/applyResults.ts); written by every layout. */
export const PRESERVED_TABLE = 'preserved_entries';

/** The tables a batch of this layout writes, parents first: its own, then preserved_entries. */
export function writeOrder(layout: Pick<Layout, 'tables'>): TableName[] {
  return [...layout.tables, PRESERVED_TABLE];
}
