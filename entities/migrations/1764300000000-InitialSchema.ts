import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The initial schema: the six tables of the storage migration plan (websites, content_types, content_items,
 * user_preferences, deployment_configs, deployment_history), the website-storage and AI tables, preserved raw
 * entries, and the pipeline bookkeeping (batches, phases, staged entries, journal, expected rows, rejects, audit).
 * Unqualified names: the DataSource sets search_path to DATABASE_SCHEMA.
 */
export class InitialSchema1764300000000 implements MigrationInterface {
  name = 'InitialSchema1764300000000';

  async up(q: QueryRunner): Promise<void> {
    for (const sql of UP) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ["website_assets","website_templates","website_components","website_pages","user_preferences","preserved_entries","migration_phases","migration_batches","dump_entries","deployment_history","deployment_configs","content_items","content_types","audit_log","batch_rejects","batch_rows","row_journal","api_tokens","ai_prompts","chat_messages","chat_sessions","ai_history_entries","ai_contexts","websites"]) await q.query(`DROP TABLE IF EXISTS "${table}" CASCADE`);
  }
}

const UP = [
  `CREATE TABLE "websites" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "name" character varying(255) NOT NULL, "slug" character varying(255), "description" text, "category" character varying(100), "icon" text, "storage_quota" bigint, "metadata" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_da80e50ae0d986d43c9eb80ab70" PRIMARY KEY ("id"))`,
  `CREATE UNIQUE INDEX "uq_websites_user_slug" ON "websites" ("user_id", "slug")`,
  `CREATE TABLE "ai_contexts" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "website_id" uuid NOT NULL, "brand_identity" jsonb, "visual_identity" jsonb, "content_strategy" jsonb, CONSTRAINT "PK_8cd19b59b62b9ad8c45f0042f7a" PRIMARY KEY ("id"))`,
  `CREATE UNIQUE INDEX "uq_ai_contexts_website" ON "ai_contexts" ("website_id")`,
  `CREATE TABLE "ai_history_entries" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "website_id" uuid NOT NULL, "position" integer NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE, "prompt" text NOT NULL, "response" text NOT NULL, "context" jsonb, CONSTRAINT "PK_2500f350766fbc081077f494072" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_ai_history_website" ON "ai_history_entries" ("website_id")`,
  `CREATE TABLE "chat_sessions" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "session_key" text NOT NULL, "website_id" uuid, "schema_version" character varying(20), "metadata" jsonb NOT NULL DEFAULT '{}', "storage_metadata" jsonb, "saved_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_efc151a4aafa9a28b73dedc485f" PRIMARY KEY ("id"))`,
  `CREATE UNIQUE INDEX "uq_chat_sessions_user_session" ON "chat_sessions" ("user_id", "session_key")`,
  `CREATE TABLE "chat_messages" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "chat_session_id" uuid NOT NULL, "position" integer NOT NULL, "role" character varying(20) NOT NULL, "content" text NOT NULL, "sent_at" TIMESTAMP WITH TIME ZONE, "metadata" jsonb, CONSTRAINT "PK_40c55ee0e571e268b0d3cd37d10" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_chat_messages_session" ON "chat_messages" ("chat_session_id", "position")`,
  `CREATE TABLE "ai_prompts" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "website_id" uuid, "original" text NOT NULL, "processed" jsonb, "prompted_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_c773812908b6563a53c47144e7d" PRIMARY KEY ("id"))`,
  `CREATE TABLE "api_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "token_hash" character(64) NOT NULL, "user_id" text NOT NULL, "role" character varying(20) NOT NULL DEFAULT 'uploader', "label" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_c587455266b5fa8dace7194caac" PRIMARY KEY ("id"))`,
  `CREATE UNIQUE INDEX "uq_api_tokens_hash" ON "api_tokens" ("token_hash")`,
  `CREATE TABLE "row_journal" ("seq" BIGSERIAL NOT NULL, "batch_id" uuid NOT NULL, "phase" character varying(40) NOT NULL, "table_name" character varying(63) NOT NULL, "row_id" uuid NOT NULL, "op" character varying(6) NOT NULL, "before" jsonb, CONSTRAINT "PK_c0cceeca30d363cedb02d2b9821" PRIMARY KEY ("seq"))`,
  `CREATE INDEX "idx_row_journal_row" ON "row_journal" ("table_name", "row_id")`,
  `CREATE INDEX "idx_row_journal_batch" ON "row_journal" ("batch_id", "seq")`,
  `CREATE TABLE "batch_rows" ("batch_id" uuid NOT NULL, "table_name" character varying(63) NOT NULL, "row_id" uuid NOT NULL, "phase" character varying(40) NOT NULL, "checksum" character(32) NOT NULL, CONSTRAINT "PK_4b1cfcc74ac89f6f5b06c37e0c7" PRIMARY KEY ("batch_id", "table_name", "row_id"))`,
  `CREATE TABLE "batch_rejects" ("id" BIGSERIAL NOT NULL, "batch_id" uuid NOT NULL, "entry_seq" integer NOT NULL, "phase" character varying(40) NOT NULL, "path" text NOT NULL, "code" character varying(60) NOT NULL, "reason" text NOT NULL, CONSTRAINT "PK_6319adcbcf7d8da556411ffa362" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_batch_rejects_batch" ON "batch_rejects" ("batch_id", "id")`,
  `CREATE TABLE "audit_log" ("id" BIGSERIAL NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "actor" text NOT NULL, "action" character varying(40) NOT NULL, "target" text, "outcome" character varying(20) NOT NULL, "details" jsonb NOT NULL DEFAULT '{}', CONSTRAINT "PK_07fefa57f7f5ab8fc3f52b3ed0b" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_audit_log_at" ON "audit_log" ("at")`,
  `CREATE TABLE "content_types" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "website_id" uuid NOT NULL, "name" character varying(255) NOT NULL, "slug" character varying(255), "schema" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_ce94145fcda04af3b3153f44f2f" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_content_types_website" ON "content_types" ("website_id")`,
  `CREATE UNIQUE INDEX "uq_content_types_website_slug" ON "content_types" ("website_id", "slug")`,
  `CREATE TABLE "content_items" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "content_type_id" uuid NOT NULL, "website_id" uuid NOT NULL, "data" jsonb NOT NULL, "status" character varying(50) NOT NULL DEFAULT 'draft', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_9c6bf4f28851752cee186915e39" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_content_items_type" ON "content_items" ("content_type_id")`,
  `CREATE INDEX "idx_content_items_website" ON "content_items" ("website_id")`,
  `CREATE TABLE "deployment_configs" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "website_id" uuid, "provider" character varying(50) NOT NULL, "config" jsonb NOT NULL, "last_connected_at" TIMESTAMP WITH TIME ZONE, "connection_expires_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_90cfa6a1981c402c60df904e874" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_deployment_configs_website" ON "deployment_configs" ("website_id")`,
  `CREATE TABLE "deployment_history" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "website_id" uuid, "deployment_config_id" uuid, "provider" character varying(50) NOT NULL, "status" character varying(50) NOT NULL, "metadata" jsonb NOT NULL DEFAULT '{}', "deployed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "completed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_179d57d92ba2427b7ede36c6474" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_deployment_history_website" ON "deployment_history" ("website_id")`,
  `CREATE TABLE "dump_entries" ("batch_id" uuid NOT NULL, "seq" integer NOT NULL, "area" character varying(20) NOT NULL, "db_name" text, "db_version" integer, "store_name" text, "entry_key" text NOT NULL, "kind" character varying(40) NOT NULL, "value" text NOT NULL, "sealed" boolean NOT NULL DEFAULT false, "value_bytes" integer NOT NULL, "outcome" character varying(12) NOT NULL DEFAULT 'pending', "reason" text, "result" jsonb, CONSTRAINT "PK_879b465994e43e3ba6b03ea08b7" PRIMARY KEY ("batch_id", "seq"))`,
  `CREATE INDEX "idx_dump_entries_kind" ON "dump_entries" ("batch_id", "kind")`,
  `CREATE TABLE "migration_batches" ("id" uuid NOT NULL, "user_id" text NOT NULL, "status" character varying(20) NOT NULL, "dump_key" text NOT NULL, "dump_sha256" character(64) NOT NULL, "dump_bytes" bigint NOT NULL, "encoding" character varying(10) NOT NULL, "idempotency_key" text, "website_hint" text, "entry_count" integer NOT NULL, "source" jsonb NOT NULL DEFAULT '{}', "notes" jsonb NOT NULL DEFAULT '{}', "error" jsonb, "verification" jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_06bf72d91d222b706fe73ff452e" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_batches_status" ON "migration_batches" ("status", "created_at")`,
  `CREATE UNIQUE INDEX "uq_batches_user_idem" ON "migration_batches" ("user_id", "idempotency_key") WHERE idempotency_key IS NOT NULL`,
  `CREATE UNIQUE INDEX "uq_batches_user_sha" ON "migration_batches" ("user_id", "dump_sha256")`,
  `CREATE TABLE "migration_phases" ("batch_id" uuid NOT NULL, "name" character varying(40) NOT NULL, "position" integer NOT NULL, "status" character varying(20) NOT NULL DEFAULT 'pending', "total" integer NOT NULL DEFAULT '0', "done" integer NOT NULL DEFAULT '0', "rejected" integer NOT NULL DEFAULT '0', "attempts" integer NOT NULL DEFAULT '0', "error" text, "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_369e91bad82eb01ffe63dd9b3fb" PRIMARY KEY ("batch_id", "name"))`,
  `CREATE TABLE "preserved_entries" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "area" character varying(20) NOT NULL, "db_name" text, "store_name" text, "entry_key" text NOT NULL, "value" text NOT NULL, "reason" text NOT NULL, CONSTRAINT "PK_eb8e8a6d94b53922f666a7c8b02" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_preserved_entries_user" ON "preserved_entries" ("user_id")`,
  `CREATE TABLE "user_preferences" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "preferences" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_e8cfb5b31af61cd363a6b6d7c25" PRIMARY KEY ("id"))`,
  `CREATE UNIQUE INDEX "uq_user_preferences_user" ON "user_preferences" ("user_id")`,
  `CREATE TABLE "website_pages" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "website_id" uuid NOT NULL, "position" integer NOT NULL, "title" text NOT NULL, "slug" text, "content" text NOT NULL, "metadata" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE, "updated_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_2605f6f433ce6dc188288ae4b03" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_website_pages_website" ON "website_pages" ("website_id")`,
  `CREATE TABLE "website_components" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "website_id" uuid NOT NULL, "position" integer NOT NULL, "name" text NOT NULL, "type" text NOT NULL, "props" jsonb NOT NULL DEFAULT '{}', "children" jsonb NOT NULL DEFAULT '[]', CONSTRAINT "PK_e2b10433ceda06de037aae5cfc3" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_website_components_website" ON "website_components" ("website_id")`,
  `CREATE TABLE "website_templates" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "website_id" uuid NOT NULL, "position" integer NOT NULL, "name" text NOT NULL, "description" text, "structure" jsonb NOT NULL DEFAULT '{}', "variables" jsonb NOT NULL DEFAULT '[]', CONSTRAINT "PK_b44e2a648e7905a5ea5f1257346" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_website_templates_website" ON "website_templates" ("website_id")`,
  `CREATE TABLE "website_assets" ("id" uuid NOT NULL, "user_id" text NOT NULL, "source_id" text NOT NULL, "batch_id" uuid NOT NULL, "website_id" uuid NOT NULL, "position" integer NOT NULL, "kind" character varying(20) NOT NULL, "url" text NOT NULL, CONSTRAINT "PK_ee536a841902d6551c5cf4de677" PRIMARY KEY ("id"))`,
  `CREATE INDEX "idx_website_assets_website" ON "website_assets" ("website_id")`,
  `ALTER TABLE "ai_contexts" ADD CONSTRAINT "FK_fbe85ff963398be521da513cb19" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "ai_history_entries" ADD CONSTRAINT "FK_2eabe1082bcbe8b11b0b8ef2839" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "chat_sessions" ADD CONSTRAINT "FK_e514519a625a96633fad884d546" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "chat_messages" ADD CONSTRAINT "FK_7737b2da509d8769d559f354c7e" FOREIGN KEY ("chat_session_id") REFERENCES "chat_sessions"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "ai_prompts" ADD CONSTRAINT "FK_9b7c96547f3fa883a0ef9e4d2df" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "content_types" ADD CONSTRAINT "FK_5a86bd542b964341aea9834f1b5" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "content_items" ADD CONSTRAINT "FK_01f501dd088eec03047608da949" FOREIGN KEY ("content_type_id") REFERENCES "content_types"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "content_items" ADD CONSTRAINT "FK_3e49872ac963974536369eff062" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "deployment_configs" ADD CONSTRAINT "FK_71a3ec270bb9d0b9e1b4724bcc7" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "deployment_history" ADD CONSTRAINT "FK_ccc958df6bcd5b5149208c086c8" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "deployment_history" ADD CONSTRAINT "FK_a9ac65947be57df530b490ddcd2" FOREIGN KEY ("deployment_config_id") REFERENCES "deployment_configs"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
  `ALTER TABLE "website_pages" ADD CONSTRAINT "FK_f904a75e615407d0c90ed939cf5" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "website_components" ADD CONSTRAINT "FK_e06c8302802b99bb4b059b2ddb3" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "website_templates" ADD CONSTRAINT "FK_786266098a2e865d31ad1991fb8" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
  `ALTER TABLE "website_assets" ADD CONSTRAINT "FK_805648cc0340a07773883426677" FOREIGN KEY ("website_id") REFERENCES "websites"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
];
