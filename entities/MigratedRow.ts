import { Column, PrimaryColumn } from 'typeorm';

/**
 * Columns every migrated row carries (CONTRACT §3): a deterministic id, the owning user (tenant),
 * the id it had in the browser and the batch that last wrote it.
 */
export abstract class MigratedRow {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text', { name: 'user_id' })
  userId: string;

  @Column('text', { name: 'source_id' })
  sourceId: string;

  @Column('uuid', { name: 'batch_id' })
  batchId: string;
}
