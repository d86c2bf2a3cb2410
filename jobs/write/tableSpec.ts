/**
 * Column lists for set-based SQL, derived once from the TypeORM entity metadata, so the entities stay the
 * single description of each table.
 */
import type { DataSource } from 'typeorm';
import type { TableName } from '../transforms/types';

export interface ColumnSpec {
  property: string;
  column: string;
  /** SQL type for json_to_recordset's column definition list. */
  sqlType: string;
  nullable: boolean;
}

export interface TableSpec {
  table: TableName;
  columns: ColumnSpec[];
  /** Columns compared to decide whether a row changed (all but id and batch_id). */
  dataColumns: ColumnSpec[];
}

const cache = new WeakMap<DataSource, Map<string, TableSpec>>();

export function tableSpec(ds: DataSource, table: TableName): TableSpec {
  let byTable = cache.get(ds);
  if (!byTable) cache.set(ds, (byTable = new Map()));
  const hit = byTable.get(table);
  if (hit) return hit;
  const meta = ds.entityMetadatas.find((m) => m.tableName === table);
  if (!meta) throw new Error(`no entity for table ${table}`);
  const columns = meta.columns.map((c) => ({
    property: c.propertyName,
    column: c.databaseName,
    sqlType: sqlTypeOf(String(c.type)),
    nullable: c.isNullable,
  }));
  const spec = { table, columns, dataColumns: columns.filter((c) => c.column !== 'id' && c.column !== 'batch_id') };
  byTable.set(table, spec);
  return spec;
}

function sqlTypeOf(t: string): string {
  switch (t) {
    case 'varchar':
    case 'char':
    case 'text':
      return 'text';
    case 'timestamptz':
      return 'timestamptz';
    case 'jsonb':
    case 'uuid':
    case 'bigint':
    case 'integer':
    case 'boolean':
      return t;
    default:
      throw new Error(`unmapped column type ${t}`);
  }
}
