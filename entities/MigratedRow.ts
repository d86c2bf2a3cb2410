import { Column, PrimaryColumn } from 'typeorm';

/**
 * Columns every migrated row carries (docs/http-api.md §3): a deterministic id, the owning user (tenant),
 * the id it had in the browser and the batch that last wrote it (NULL: the data API).
 */
export abstract class MigratedRow {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text', { name: 'user_id' })
  userId: string;

  @Column('text', { name: 'source_id' })
  sourceId: string;

  /** NULL once the row was last written through the data API (api/data/) rather than by a batch. */
  @Column('uuid', { name: 'batch_id', nullable: true })
  batchId: string | null;
}
