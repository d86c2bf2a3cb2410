import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tables the data API (api/data/) reads and writes: every migrated table but the raw preserved entries. */
export const DATA_TABLES = [
  'websites', 'content_types', 'content_items', 'website_pages', 'website_components', 'website_templates', 'website_assets',
  'ai_contexts', 'ai_history_entries', 'chat_sessions', 'chat_messages', 'ai_prompts', 'user_preferences',
  'deployment_configs', 'deployment_history',
] as const;

/**
 * The data API: migrated rows become the app's data.
 *  - `batch_id` becomes nullable: NULL means "last written through the API", not by a migration batch.
 *  - `api_writes` records every row an API request inserted, changed or deleted (cascades included), with
 *    the before and after images. Its `seq` comes from the row journal's sequence, so an API write and a
 *    batch's journal entry on the same row are ordered: rollback refuses to discard later API writes.
 *  - A row trigger on each data table fills it, only inside transactions that set `bsm.api_write = 'on'`
 *    (api/data/write.ts). The WHEN clause keeps it off the migration's hot path: no function call there.
 *  - Read-path indexes: keyset pages of content items (per website and per content type), look-ups by
 *    the browser's id (`source_id`), deployment history newest first.
 */
export class DataApi1764600000000 implements MigrationInterface {
  name = 'DataApi1764600000000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of DATA_TABLES) await q.query(`ALTER TABLE "${t}" ALTER COLUMN "batch_id" DROP NOT NULL`);
    await q.query(`CREATE TABLE "api_writes" (
      "seq" bigint NOT NULL DEFAULT nextval('row_journal_seq_seq'),
      "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "user_id" text NOT NULL,
      "actor" text NOT NULL,
      "request_id" text,
      "table_name" character varying(63) NOT NULL,
      "row_id" uuid NOT NULL,
      "op" character varying(6) NOT NULL,
      "before" jsonb,
      "after" jsonb,
      "discarded_by" uuid,
      CONSTRAINT "PK_api_writes" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE INDEX "idx_api_writes_row" ON "api_writes" ("table_name", "row_id", "seq")`);
    await q.query(`CREATE INDEX "idx_api_writes_user" ON "api_writes" ("user_id", "seq")`);
    await q.query(`CREATE FUNCTION record_api_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          INSERT INTO api_writes (user_id, actor, request_id, table_name, row_id, op, before, after)
          VALUES (OLD.user_id, current_setting('bsm.actor'), nullif(current_setting('bsm.request_id', true), ''), TG_TABLE_NAME, OLD.id, 'delete', to_jsonb(OLD), NULL);
        ELSIF TG_OP = 'UPDATE' THEN
          INSERT INTO api_writes (user_id, actor, request_id, table_name, row_id, op, before, after)
          VALUES (NEW.user_id, current_setting('bsm.actor'), nullif(current_setting('bsm.request_id', true), ''), TG_TABLE_NAME, NEW.id, 'update', to_jsonb(OLD), to_jsonb(NEW));
        ELSE
          INSERT INTO api_writes (user_id, actor, request_id, table_name, row_id, op, before, after)
          VALUES (NEW.user_id, current_setting('bsm.actor'), nullif(current_setting('bsm.request_id', true), ''), TG_TABLE_NAME, NEW.id, 'insert', NULL, to_jsonb(NEW));
        END IF;
        RETURN NULL;
      END $$`);
    for (const t of DATA_TABLES) {
      await q.query(`CREATE TRIGGER "api_write" AFTER INSERT OR UPDATE OR DELETE ON "${t}" FOR EACH ROW
        WHEN (current_setting('bsm.api_write', true) = 'on') EXECUTE FUNCTION record_api_write()`);
    }
    await q.query(`CREATE INDEX "idx_websites_user_created" ON "websites" ("user_id", "created_at", "id")`);
    await q.query(`CREATE INDEX "idx_websites_user_source" ON "websites" ("user_id", "source_id")`);
    await q.query(`CREATE INDEX "idx_content_types_website_source" ON "content_types" ("website_id", "source_id")`);
    await q.query(`CREATE INDEX "idx_content_items_page" ON "content_items" ("website_id", "created_at", "id")`);
    await q.query(`CREATE INDEX "idx_content_items_type_page" ON "content_items" ("website_id", "content_type_id", "created_at", "id")`);
    await q.query(`CREATE INDEX "idx_content_items_website_source" ON "content_items" ("website_id", "source_id")`);
    await q.query(`CREATE INDEX "idx_deployment_configs_user" ON "deployment_configs" ("user_id", "source_id")`);
    await q.query(`CREATE INDEX "idx_deployment_history_user_page" ON "deployment_history" ("user_id", "deployed_at" DESC, "id" DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of DATA_TABLES) await q.query(`DROP TRIGGER IF EXISTS "api_write" ON "${t}"`);
    await q.query(`DROP FUNCTION IF EXISTS record_api_write()`);
    await q.query(`DROP TABLE IF EXISTS "api_writes"`);
    for (const i of ['idx_websites_user_created', 'idx_websites_user_source', 'idx_content_types_website_source', 'idx_content_items_page',
      'idx_content_items_type_page', 'idx_content_items_website_source', 'idx_deployment_configs_user', 'idx_deployment_history_user_page']) {
      await q.query(`DROP INDEX IF EXISTS "${i}"`);
    }
    // Rows written through the API have no batch: they cannot go back under NOT NULL.
    for (const t of DATA_TABLES) await q.query(`DELETE FROM "${t}" WHERE batch_id IS NULL`);
    for (const t of DATA_TABLES) await q.query(`ALTER TABLE "${t}" ALTER COLUMN "batch_id" SET NOT NULL`);
  }
}
