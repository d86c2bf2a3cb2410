import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { MigratedRow } from './MigratedRow';
import { Website } from './Website';

@Entity('content_types')
@Index('uq_content_types_website_slug', ['websiteId', 'slug'], { unique: true })
export class ContentType extends MigratedRow {
  @Column('uuid', { name: 'website_id' }) websiteId: string;
  @ManyToOne(() => Website, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'website_id' }) website?: Website;
  @Column('varchar', { length: 255 }) name: string;
  @Column('varchar', { length: 255, nullable: true }) slug: string | null;
  /** {pluralName, icon, description, fields, relationships} with content-type ids remapped. */
  @Column('jsonb') schema: Record<string, unknown>;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}
