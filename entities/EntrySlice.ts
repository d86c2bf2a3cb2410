import { Column, Entity, PrimaryColumn } from 'typeorm';

export type SliceStatus = 'pending' | 'done' | 'failed';

/**
 * A slice of one large staged entry of a sliceable kind (jobs/phases/slices.ts): some of its elements, mapped
 * and written by a slice job of their own. Transient: removed once the entry is settled, and with the entry
 * (ON DELETE CASCADE) when ingest stages the batch again.
 */
@Entity('entry_slices')
export class EntrySlice {
  @PrimaryColumn('uuid', { name: 'batch_id' }) batchId: string;
  @PrimaryColumn('integer') seq: number;
  @PrimaryColumn('integer') slice: number;
  /** How many slices the entry was split into: a split cut short (its job died) is completed with the same partition. */
  @Column('integer', { name: 'slice_count' }) sliceCount: number;
  /** Which hash of an element's key chose its slice (SLICE_KEY_HASHES in jobs/phases/slices.ts): part of the partition too. */
  @Column('smallint', { name: 'key_hash', default: 1 }) keyHash: number;
  /** JSON `[[index, element], …]`: the slice's elements with their positions in the entry's list (emptied when done). */
  @Column('text') elements: string;
  /** Where the list sits in the entry's value (reject paths), and notes about the entry's envelope. */
  @Column('text') path: string;
  @Column('jsonb', { default: () => "'{}'::jsonb" }) notes: Record<string, unknown>;
  @Column('integer', { name: 'element_count' }) elementCount: number;
  @Column('varchar', { length: 12, default: 'pending' }) status: SliceStatus;
  /** Bumped when a failed slice is queued again: the job id carries it, so the new job is not the old one. */
  @Column('integer', { default: 1 }) generation: number;
  /** What the slice wrote: {tables: {name: count}, produced, rejects, firstReject}. */
  @Column('jsonb', { nullable: true }) result: Record<string, unknown> | null;
  @Column('text', { nullable: true }) error: string | null;
}
