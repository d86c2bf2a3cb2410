/** Journal, expected rows, element-level rejects and the audit log. */
import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Before-image journal: written in the same transaction as each insert/update of a migrated row, so a
 * batch can be rolled back exactly (inserted rows deleted, updated rows restored), newest first.
 */
@Entity('row_journal')
@Index('idx_row_journal_batch', ['batchId', 'seq'])
@Index('idx_row_journal_row', ['tableName', 'rowId'])
export class RowJournal {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) seq: string;
  @Column('uuid', { name: 'batch_id' }) batchId: string;
  @Column('varchar', { length: 40 }) phase: string;
  @Column('varchar', { length: 63, name: 'table_name' }) tableName: string;
  @Column('uuid', { name: 'row_id' }) rowId: string;
  /** insert | update */
  @Column('varchar', { length: 6 }) op: string;
  /** The full row before the change (null for inserts). */
  @Column('jsonb', { nullable: true }) before: Record<string, unknown> | null;
}

/** Every row a batch meant to have in place, with the checksum of its canonical form after the write. */
@Entity('batch_rows')
export class BatchRow {
  @PrimaryColumn('uuid', { name: 'batch_id' }) batchId: string;
  @PrimaryColumn('varchar', { length: 63, name: 'table_name' }) tableName: string;
  @PrimaryColumn('uuid', { name: 'row_id' }) rowId: string;
  @Column('varchar', { length: 40 }) phase: string;
  @Column('char', { length: 32 }) checksum: string;
  /** The entry of the batch the row came from (NULL: none, e.g. a website created for global data). */
  @Column('integer', { name: 'entry_seq', nullable: true }) entrySeq: number | null;
}

/** An element of an entry that could not be migrated (e.g. one content item of many), with the reason. */
@Entity('batch_rejects')
@Index('idx_batch_rejects_batch', ['batchId', 'id'])
export class BatchReject {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id: string;
  @Column('uuid', { name: 'batch_id' }) batchId: string;
  @Column('integer', { name: 'entry_seq' }) entrySeq: number;
  @Column('varchar', { length: 40 }) phase: string;
  /** Where in the entry: e.g. `state.contentItems[3]`. */
  @Column('text') path: string;
  @Column('varchar', { length: 60 }) code: string;
  @Column('text') reason: string;
}

@Entity('audit_log')
@Index('idx_audit_log_at', ['at'])
export class AuditLog {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id: string;
  @CreateDateColumn({ type: 'timestamptz' }) at: Date;
  @Column('text') actor: string;
  @Column('varchar', { length: 40 }) action: string;
  @Column('text', { nullable: true }) target: string | null;
  @Column('varchar', { length: 20 }) outcome: string;
  @Column('jsonb', { default: () => "'{}'" }) details: Record<string, unknown>;
}
