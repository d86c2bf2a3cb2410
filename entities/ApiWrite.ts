import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A row inserted, changed or deleted through the data API (cascades included), recorded by the `api_write`
 * trigger (migration DataApi). `seq` shares the row journal's sequence, so API writes and batch journal
 * entries on one row are ordered; rollback uses that to refuse discarding later API writes.
 */
@Entity('api_writes')
@Index('idx_api_writes_row', ['tableName', 'rowId', 'seq'])
@Index('idx_api_writes_user', ['userId', 'seq'])
export class ApiWrite {
  @PrimaryColumn('bigint') seq: string;
  @Column('timestamptz') at: Date;
  @Column('text', { name: 'user_id' }) userId: string;
  /** `token:<id>` of the caller. */
  @Column('text') actor: string;
  @Column('text', { name: 'request_id', nullable: true }) requestId: string | null;
  @Column('varchar', { length: 63, name: 'table_name' }) tableName: string;
  @Column('uuid', { name: 'row_id' }) rowId: string;
  /** insert | update | delete */
  @Column('varchar', { length: 6 }) op: string;
  @Column('jsonb', { nullable: true }) before: Record<string, unknown> | null;
  @Column('jsonb', { nullable: true }) after: Record<string, unknown> | null;
  /** The batch whose forced rollback overwrote this write (it then no longer blocks other rollbacks). */
  @Column('uuid', { name: 'discarded_by', nullable: true }) discardedBy: string | null;
}
