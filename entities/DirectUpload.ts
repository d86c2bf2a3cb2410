import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A direct-to-S3 multipart upload (api/uploads/direct.ts, docs/http-api.md §2b): who owns it, what the
 * whole dump must be (sha256, size, type), how it is cut into parts, the S3 multipart upload it rides on,
 * and the MD5 the client declared for each part it asked a URL for (checked against S3's ETags).
 */
@Entity('direct_uploads')
export class DirectUpload {
  /** 32 hex digits: the id in the URLs, and the last segment of the object key. */
  @PrimaryColumn('varchar', { length: 32 }) id: string;
  @Column('text', { name: 'user_id' }) userId: string;
  @Column('text', { name: 'object_key' }) objectKey: string;
  @Column('text', { name: 's3_upload_id' }) s3UploadId: string;
  @Column('text') filename: string;
  @Column('text', { name: 'content_type' }) contentType: string;
  @Column('char', { length: 64 }) sha256: string;
  @Column('bigint') size: string;
  @Column('bigint', { name: 'part_size' }) partSize: string;
  @Column('int', { name: 'part_count' }) partCount: number;
  @Column('text', { name: 'website_id', nullable: true }) websiteId: string | null;
  /** The layout the batch is migrated with (jobs/layouts.ts); null: the default. */
  @Column('text', { nullable: true }) layout: string | null;
  /** 'gzip' when the parts are the dump gzip-compressed (docs/format.md §1g). */
  @Column('varchar', { name: 'content_encoding', length: 16, nullable: true }) contentEncoding: string | null;
  /** Part number → the base64 MD5 the client declared for it (and that its presigned URL signs). */
  @Column('jsonb', { name: 'part_md5', default: () => `'{}'::jsonb` }) partMd5: Record<string, string>;
  /** open → completing → completed (a refused completion deletes the record). */
  @Column('varchar', { length: 16, default: 'open' }) status: string;
  @Column('uuid', { name: 'batch_id', nullable: true }) batchId: string | null;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'claimed_at', nullable: true }) claimedAt: Date | null;
  @Index('idx_direct_uploads_expires_at') @Column('timestamptz', { name: 'expires_at' }) expiresAt: Date;
}
