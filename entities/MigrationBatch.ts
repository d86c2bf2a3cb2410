import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const BATCH_STATUSES = ['received', 'queued', 'running', 'completed', 'needs_attention', 'failed', 'rolling_back', 'rolled_back'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** One uploaded dump and its migration. */
@Entity('migration_batches')
@Index('uq_batches_user_sha_layout', ['userId', 'dumpSha256', 'layout'], { unique: true })
@Index('uq_batches_user_idem', ['userId', 'idempotencyKey'], { unique: true, where: 'idempotency_key IS NOT NULL' })
@Index('idx_batches_status', ['status', 'createdAt'])
export class MigrationBatch {
  @PrimaryColumn('uuid') id: string;
  @Column('text', { name: 'user_id' }) userId: string;
  @Column('varchar', { length: 20 }) status: BatchStatus;
  /** `snapshot` (a whole dump) or `delta` (changes since `baseBatchId`, docs/cutover.md). */
  @Column('varchar', { length: 10, default: 'snapshot' }) kind: 'snapshot' | 'delta';
  /** A delta's base: the batch of the same chain it follows. */
  @Column('uuid', { name: 'base_batch_id', nullable: true }) baseBatchId: string | null;
  /** A delta's chain: its snapshot batch. */
  @Column('uuid', { name: 'root_batch_id', nullable: true }) rootBatchId: string | null;
  @Column('text', { name: 'dump_key' }) dumpKey: string;
  @Column('char', { length: 64, name: 'dump_sha256' }) dumpSha256: string;
  @Column('bigint', { name: 'dump_bytes' }) dumpBytes: string;
  @Column('varchar', { length: 10 }) encoding: 'json' | 'ndjson';
  /** The layout it is migrated with (jobs/layouts.ts: `catalyst`, `generic`), chosen per upload. */
  @Column('text', { default: 'catalyst' }) layout: string;
  @Column('text', { name: 'idempotency_key', nullable: true }) idempotencyKey: string | null;
  /** Source website id given with the upload (?websiteId=) for global data. */
  @Column('text', { name: 'website_hint', nullable: true }) websiteHint: string | null;
  @Column('integer', { name: 'entry_count' }) entryCount: number;
  /** Dump header `source` (app, origin, userAgent, capturedAt). */
  @Column('jsonb', { default: () => "'{}'" }) source: Record<string, unknown>;
  /** Decisions the mapping made that the report states (e.g. which website global data went to). */
  @Column('jsonb', { default: () => "'{}'" }) notes: Record<string, unknown>;
  /** Why the batch failed or needs attention: {code, message, phase?, details?}. */
  @Column('jsonb', { nullable: true }) error: Record<string, unknown> | null;
  @Column('jsonb', { nullable: true }) verification: Record<string, unknown> | null;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt: Date;
  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' }) updatedAt: Date;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt: Date | null;
}
