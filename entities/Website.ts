import { Column, Entity, Index } from 'typeorm';
import { MigratedRow } from './MigratedRow';

@Entity('websites')
@Index('uq_websites_user_slug', ['userId', 'slug'], { unique: true })
export class Website extends MigratedRow {
  @Column('varchar', { length: 255 }) name: string;
  @Column('varchar', { length: 255, nullable: true }) slug: string | null;
  @Column('text', { nullable: true }) description: string | null;
  @Column('varchar', { length: 100, nullable: true }) category: string | null;
  @Column('text', { nullable: true }) icon: string | null;
  @Column('bigint', { name: 'storage_quota', nullable: true }) storageQuota: string | null;
  /** Website config section (settings, theme, metadata) and anything else without a column. */
  @Column('jsonb', { default: () => "'{}'" }) metadata: Record<string, unknown>;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}
