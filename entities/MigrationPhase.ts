import { Column, Entity, PrimaryColumn } from 'typeorm';

export type PhaseStatus = 'pending' | 'running' | 'completed' | 'failed' | 'rolled_back';

/** Progress of one phase of one batch, mirrored from its BullMQ job so the API never needs Redis to answer. */
@Entity('migration_phases')
export class MigrationPhase {
  @PrimaryColumn('uuid', { name: 'batch_id' }) batchId: string;
  @PrimaryColumn('varchar', { length: 40 }) name: string;
  @Column('integer') position: number;
  @Column('varchar', { length: 20, default: 'pending' }) status: PhaseStatus;
  @Column('integer', { default: 0 }) total: number;
  @Column('integer', { default: 0 }) done: number;
  @Column('integer', { default: 0 }) rejected: number;
  @Column('integer', { default: 0 }) attempts: number;
  @Column('text', { nullable: true }) error: string | null;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt: Date | null;
}
