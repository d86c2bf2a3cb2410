/**
 * A storage layout: how one app's browser storage maps to rows. The pipeline is generic; everything
 * app-specific is here. Per-entry transforms stream; group transforms see every entry of their kinds at
 * once (for rows built from several entries, e.g. a website from its metadata and config section).
 */
import type { EntryKind, SourceEntry, TransformContext, TransformResult } from './types';

export type EntryTransform = (entry: SourceEntry, ctx: TransformContext) => TransformResult;

/** Result per entry seq; rows may be attached to any one of the entries. */
export type GroupTransform = (entries: SourceEntry[], ctx: TransformContext) => Map<number, TransformResult>;

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

export interface Layout {
  name: string;
  classify(e: { area: string; dbName: string | null; storeName: string | null; key: unknown }): EntryKind;
  /** Kinds whose staged values are sealed at rest (they hold secrets). */
  secretKinds: readonly EntryKind[];
  transforms: Partial<Record<EntryKind, EntryTransform>>;
  groupTransforms: Partial<Record<EntryKind, GroupTransformSpec>>;
  /**
   * Website rows for section databases whose website has no metadata or config entry (so the sections'
   * rows have a website to belong to). Given the section databases' names; returns rows for `websites`.
   */
  websitesForSections?(dbNames: string[], ctx: TransformContext): TransformResult;
}
