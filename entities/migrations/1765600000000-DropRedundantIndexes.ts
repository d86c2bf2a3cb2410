import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fewer index entries per row written (a migration's item rows, every data-API write), the same lookups:
 * - `content_items (website_id)` and `content_types (website_id)`: every lookup they served is served by
 *   another index beginning with `website_id` (items: `(website_id, created_at, id)`, `(website_id,
 *   source_id)`; types: the unique `(website_id, slug)`, `(website_id, source_id)`).
 * - `content_items (content_type_id)` (the cascade from `content_types`) and `(website_id, content_type_id,
 *   created_at, id)` (a type's list pages) become one `(content_type_id, created_at, id)`: a content type
 *   belongs to one website, so the list's `website_id` test is a filter on rows the index already narrowed
 *   to that type, and the cascade's look-up by type uses the same index.
 * Content items go from six indexes to four (docs/BENCHMARKS.md, "index diet"). Building the new index
 * holds writes to `content_items` back for as long as it takes (seconds per million rows).
 */
export class DropRedundantIndexes1765600000000 implements MigrationInterface {
  name = 'DropRedundantIndexes1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_content_items_type_created" ON "content_items" ("content_type_id", "created_at", "id")`);
    await q.query(`DROP INDEX "idx_content_items_type_page"`);
    await q.query(`DROP INDEX "idx_content_items_type"`);
    await q.query(`DROP INDEX "idx_content_items_website"`);
    await q.query(`DROP INDEX "idx_content_types_website"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idx_content_types_website" ON "content_types" ("website_id")`);
    await q.query(`CREATE INDEX "idx_content_items_website" ON "content_items" ("website_id")`);
    await q.query(`CREATE INDEX "idx_content_items_type" ON "content_items" ("content_type_id")`);
    await q.query(`CREATE INDEX "idx_content_items_type_page" ON "content_items" ("website_id", "content_type_id", "created_at", "id")`);
    await q.query(`DROP INDEX "idx_content_items_type_created"`);
  }
}
