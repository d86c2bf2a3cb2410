import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** An uploader (or operator) token. Only its SHA-256 is stored; the token itself is shown once. */
@Entity('api_tokens')
export class ApiToken {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Index('uq_api_tokens_hash', { unique: true }) @Column('char', { length: 64, name: 'token_hash' }) tokenHash: string;
  @Column('text', { name: 'user_id' }) userId: string;
  /** uploader | operator */
  @Column('varchar', { length: 20, default: 'uploader' }) role: string;
  @Column('text', { nullable: true }) label: string | null;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt: Date | null;
}
