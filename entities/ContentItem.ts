import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { ContentType } from './ContentType';
import { MigratedRow } from './MigratedRow';
import { Website } from './Website';

@Entity('content_items')
@Index('idx_content_items_type_created', ['contentTypeId', 'createdAt', 'id'])
export class ContentItem extends MigratedRow {
  @Column('uuid', { name: 'content_type_id' }) contentTypeId: string;
  @ManyToOne(() => ContentType, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'content_type_id' }) contentType?: ContentType;
  @Column('uuid', { name: 'website_id' }) websiteId: string;
  @ManyToOne(() => Website, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'website_id' }) website?: Website;
  @Column('jsonb') data: Record<string, unknown>;
  @Column('varchar', { length: 50, default: 'draft' }) status: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}
