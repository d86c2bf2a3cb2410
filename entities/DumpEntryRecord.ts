import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type EntryOutcome = 'pending' | 'migrated' | 'preserved' | 'rejected';

/**
 * One entry of a dump, staged by the ingest phase and accounted for by the others: every entry ends
 * migrated, preserved or rejected (with a reason). `value` is the entry's raw JSON text (lossless; for
 * secret-bearing kinds it is sealed with ENCRYPTION_KEY).
 */
@Entity('dump_entries')
@Index('idx_dump_entries_kind', ['batchId', 'kind'])
@Index('idx_dump_entries_pending', ['batchId', 'seq'], { where: "outcome = 'pending'" })
export class DumpEntryRecord {
  @PrimaryColumn('uuid', { name: 'batch_id' }) batchId: string;
  @PrimaryColumn('integer') seq: number;
  @Column('varchar', { length: 20 }) area: string;
  @Column('text', { name: 'db_name', nullable: true }) dbName: string | null;
  /** IndexedDB versions go up to 2^53−1 (bigint; node-postgres reads it back as a decimal string). */
  @Column('bigint', { name: 'db_version', nullable: true }) dbVersion: string | null;
  @Column('text', { name: 'store_name', nullable: true }) storeName: string | null;
  /** localStorage/sessionStorage key, or the JSON of the IndexedDB key. */
  @Column('text', { name: 'entry_key' }) entryKey: string;
  @Column('varchar', { length: 40 }) kind: string;
  @Column('text') value: string;
  @Column('boolean', { default: false }) sealed: boolean;
  @Column('integer', { name: 'value_bytes' }) valueBytes: number;
  @Column('varchar', { length: 12, default: 'pending' }) outcome: EntryOutcome;
  @Column('text', { nullable: true }) reason: string | null;
  /** What the entry became: {table: count} and element-level notes. */
  @Column('jsonb', { nullable: true }) result: Record<string, unknown> | null;
}
