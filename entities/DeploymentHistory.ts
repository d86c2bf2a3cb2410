import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { DeploymentConfig } from './DeploymentConfig';
import { MigratedRow } from './MigratedRow';
import { Website } from './Website';

@Entity('deployment_history')
@Index('idx_deployment_history_website', ['websiteId'])
export class DeploymentHistory extends MigratedRow {
  @Column('uuid', { name: 'website_id', nullable: true }) websiteId: string | null;
  @ManyToOne(() => Website, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'website_id' }) website?: Website;
  @Column('uuid', { name: 'deployment_config_id', nullable: true }) deploymentConfigId: string | null;
  @ManyToOne(() => DeploymentConfig, { onDelete: 'SET NULL' }) @JoinColumn({ name: 'deployment_config_id' }) deploymentConfig?: DeploymentConfig;
  @Column('varchar', { length: 50 }) provider: string;
  @Column('varchar', { length: 50 }) status: string;
  /** progress, logs, error, retryCount, maxRetries and any newer fields. */
  @Column('jsonb', { default: () => "'{}'" }) metadata: Record<string, unknown>;
  @Column('timestamptz', { name: 'deployed_at' }) deployedAt: Date;
  @Column('timestamptz', { name: 'completed_at', nullable: true }) completedAt: Date | null;
}
