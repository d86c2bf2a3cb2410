/** Website storage sections (IndexedDB `website_<id>_content` / `_assets`), one row per element. */
import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { MigratedRow } from './MigratedRow';
import { Website } from './Website';

abstract class WebsiteChild extends MigratedRow {
  @Column('uuid', { name: 'website_id' }) websiteId: string;
  @ManyToOne(() => Website, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'website_id' }) website?: Website;
  /** Position in the source array, so order survives. */
  @Column('integer') position: number;
}

@Entity('website_pages')
@Index('idx_website_pages_website', ['websiteId'])
export class WebsitePage extends WebsiteChild {
  @Column('text') title: string;
  @Column('text', { nullable: true }) slug: string | null;
  @Column('text') content: string;
  @Column('jsonb', { default: () => "'{}'" }) metadata: Record<string, unknown>;
  @Column('timestamptz', { name: 'created_at', nullable: true }) createdAt: Date | null;
  @Column('timestamptz', { name: 'updated_at', nullable: true }) updatedAt: Date | null;
}

@Entity('website_components')
@Index('idx_website_components_website', ['websiteId'])
export class WebsiteComponent extends WebsiteChild {
  @Column('text') name: string;
  @Column('text') type: string;
  @Column('jsonb', { default: () => "'{}'" }) props: Record<string, unknown>;
  @Column('jsonb', { default: () => "'[]'" }) children: unknown[];
}

@Entity('website_templates')
@Index('idx_website_templates_website', ['websiteId'])
export class WebsiteTemplate extends WebsiteChild {
  @Column('text') name: string;
  @Column('text', { nullable: true }) description: string | null;
  @Column('jsonb', { default: () => "'{}'" }) structure: Record<string, unknown>;
  @Column('jsonb', { default: () => "'[]'" }) variables: unknown[];
}

@Entity('website_assets')
@Index('idx_website_assets_website', ['websiteId'])
export class WebsiteAsset extends WebsiteChild {
  /** image | video | document | logo */
  @Column('varchar', { length: 20 }) kind: string;
  /** An http(s) URL, or the stable object-store URL an inline data: URL was moved to. */
  @Column('text') url: string;
}
