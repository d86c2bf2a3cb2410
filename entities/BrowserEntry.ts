import { Column, Entity, Index } from 'typeorm';
import { MigratedRow } from './MigratedRow';

/**
 * The generic layout's table (jobs/transforms/generic): one row per browser storage entry of any origin,
 * looked up per user, area, database, store and key (GET /v1/entries). docs/format.md §4 says what each
 * column holds.
 */
@Entity('browser_entries')
@Index('idx_browser_entries_lookup', ['userId', 'area', 'dbName', 'storeName', 'keyText', 'id'])
@Index('idx_browser_entries_user', ['userId', 'id'])
export class BrowserEntry extends MigratedRow {
  @Column('varchar', { length: 20 }) area: string;
  @Column('text', { name: 'db_name', nullable: true }) dbName: string | null;
  @Column('text', { name: 'store_name', nullable: true }) storeName: string | null;
  /** Web storage: the key string; IndexedDB: the key in its §1c form. */
  @Column('jsonb') key: unknown;
  /** A string key itself, any other key its canonical §1c JSON. */
  @Column('text', { name: 'key_text' }) keyText: string;
  /** IndexedDB: the value's §1c form; web storage: the stored string parsed as JSON when it is JSON, else the string. NULL: JSON null. */
  @Column('jsonb', { nullable: true }) value: unknown;
  /** Web storage, when `value` is parsed JSON: the stored string exactly (the stored string is `rawValue ?? value`). */
  @Column('jsonb', { name: 'raw_value', nullable: true }) rawValue: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}
