import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Direct-to-S3 multipart uploads (api/uploads/direct.ts): one row per upload, removed when it is refused,
 * aborted or expired (the clean-up job aborts the S3 multipart upload of an expired one).
 */
export class DirectUploads1765100000000 implements MigrationInterface {
  name = 'DirectUploads1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "direct_uploads" (
         "id" character varying(32) PRIMARY KEY,
         "user_id" text NOT NULL,
         "object_key" text NOT NULL,
         "s3_upload_id" text NOT NULL,
         "filename" text NOT NULL,
         "content_type" text NOT NULL,
         "sha256" character(64) NOT NULL,
         "size" bigint NOT NULL,
         "part_size" bigint NOT NULL,
         "part_count" integer NOT NULL,
         "website_id" text,
         "layout" text,
         "content_encoding" character varying(16),
         "part_md5" jsonb NOT NULL DEFAULT '{}'::jsonb,
         "status" character varying(16) NOT NULL DEFAULT 'open',
         "batch_id" uuid,
         "created_at" timestamptz NOT NULL DEFAULT now(),
         "claimed_at" timestamptz,
         "expires_at" timestamptz NOT NULL)`,
    );
    await q.query(`CREATE INDEX "idx_direct_uploads_expires_at" ON "direct_uploads" ("expires_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "direct_uploads"`);
  }
}
