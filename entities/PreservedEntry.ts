import { Column, Entity, Index } from 'typeorm';
import { MigratedRow } from './MigratedRow';

/**
 * A dump entry the mapping does not turn into rows, kept raw and losslessly (value is the entry's JSON
 * text, so even `\u0000` survives). source_id is the entry reference (area, database, store, key).
 */
@Entity('preserved_entries')
@Index('idx_preserved_entries_user', ['userId'])
export class PreservedEntry extends MigratedRow {
  @Column('varchar', { length: 20 }) area: string;
  @Column('text', { name: 'db_name', nullable: true }) dbName: string | null;
  @Column('text', { name: 'store_name', nullable: true }) storeName: string | null;
  @Column('text', { name: 'entry_key' }) entryKey: string;
  @Column('text') value: string;
  @Column('text') reason: string;
}
