import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { MigratedRow } from './MigratedRow';
import { Website } from './Website';

@Entity('deployment_configs')
@Index('idx_deployment_configs_website', ['websiteId'])
export class DeploymentConfig extends MigratedRow {
  @Column('uuid', { name: 'website_id', nullable: true }) websiteId: string | null;
  @ManyToOne(() => Website, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'website_id' }) website?: Website;
  @Column('varchar', { length: 50 }) provider: string;
  /** Provider settings; every secret (apiKey, tokens) is an AES-256-GCM envelope with its key id. */
  @Column('jsonb') config: Record<string, unknown>;
  @Column('timestamptz', { name: 'last_connected_at', nullable: true }) lastConnectedAt: Date | null;
  @Column('timestamptz', { name: 'connection_expires_at', nullable: true }) connectionExpiresAt: Date | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}
