import { Column, Entity, Index } from 'typeorm';
import { MigratedRow } from './MigratedRow';

@Entity('user_preferences')
@Index('uq_user_preferences_user', ['userId'], { unique: true })
export class UserPreferences extends MigratedRow {
  /** One object per user: {navigation, preview, projectContext, ui: {...other keys}}. */
  @Column('jsonb', { default: () => "'{}'" }) preferences: Record<string, unknown>;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}
