/** AI context and chat (IndexedDB `website_<id>_ai_context`, `catalyst-studio/persistence`, `ai_prompt_*`). */
import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { MigratedRow } from './MigratedRow';
import { Website } from './Website';

@Entity('ai_contexts')
@Index('uq_ai_contexts_website', ['websiteId'], { unique: true })
export class AiContext extends MigratedRow {
  @Column('uuid', { name: 'website_id' }) websiteId: string;
  @ManyToOne(() => Website, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'website_id' }) website?: Website;
  @Column('jsonb', { name: 'brand_identity', nullable: true }) brandIdentity: Record<string, unknown> | null;
  @Column('jsonb', { name: 'visual_identity', nullable: true }) visualIdentity: Record<string, unknown> | null;
  @Column('jsonb', { name: 'content_strategy', nullable: true }) contentStrategy: Record<string, unknown> | null;
}

@Entity('ai_history_entries')
@Index('idx_ai_history_website', ['websiteId'])
export class AiHistoryEntry extends MigratedRow {
  @Column('uuid', { name: 'website_id' }) websiteId: string;
  @ManyToOne(() => Website, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'website_id' }) website?: Website;
  @Column('integer') position: number;
  @Column('timestamptz', { name: 'occurred_at', nullable: true }) occurredAt: Date | null;
  @Column('text') prompt: string;
  @Column('text') response: string;
  @Column('jsonb', { nullable: true }) context: Record<string, unknown> | null;
}

@Entity('chat_sessions')
@Index('uq_chat_sessions_user_session', ['userId', 'sessionKey'], { unique: true })
export class ChatSession extends MigratedRow {
  @Column('text', { name: 'session_key' }) sessionKey: string;
  @Column('uuid', { name: 'website_id', nullable: true }) websiteId: string | null;
  @ManyToOne(() => Website, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'website_id' }) website?: Website;
  @Column('varchar', { length: 20, name: 'schema_version', nullable: true }) schemaVersion: string | null;
  @Column('jsonb', { default: () => "'{}'" }) metadata: Record<string, unknown>;
  @Column('jsonb', { name: 'storage_metadata', nullable: true }) storageMetadata: Record<string, unknown> | null;
  @Column('timestamptz', { name: 'saved_at', nullable: true }) savedAt: Date | null;
}

@Entity('chat_messages')
@Index('idx_chat_messages_session', ['chatSessionId', 'position'])
export class ChatMessage extends MigratedRow {
  @Column('uuid', { name: 'chat_session_id' }) chatSessionId: string;
  @ManyToOne(() => ChatSession, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'chat_session_id' }) chatSession?: ChatSession;
  @Column('integer') position: number;
  @Column('varchar', { length: 20 }) role: string;
  @Column('text') content: string;
  @Column('timestamptz', { name: 'sent_at', nullable: true }) sentAt: Date | null;
  @Column('jsonb', { nullable: true }) metadata: Record<string, unknown> | null;
}

@Entity('ai_prompts')
export class AiPrompt extends MigratedRow {
  @Column('uuid', { name: 'website_id', nullable: true }) websiteId: string | null;
  @ManyToOne(() => Website, { onDelete: 'CASCADE' }) @JoinColumn({ name: 'website_id' }) website?: Website;
  @Column('text') original: string;
  @Column('jsonb', { nullable: true }) processed: Record<string, unknown> | null;
  @Column('timestamptz', { name: 'prompted_at', nullable: true }) promptedAt: Date | null;
}
