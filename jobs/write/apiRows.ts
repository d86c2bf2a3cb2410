/**
 * Writes for the data API (api/data/): the same row objects the transforms produce, upserted set-based
 * with `batch_id` NULL ("last written through the API"). Not journaled per batch: the `api_write` trigger
 * records each change (before and after) while the transaction has `bsm.api_write` on (api/data/write.ts).
 */
import type { EntityManager } from 'typeorm';
import { AppError } from '../../core/errors';
import type { Row, TableName } from '../transforms/types';
import { tableSpec } from './tableSpec';
import { toRecord } from './upsertRows';

/** Upserts `rows` of one user; a row of another user with the same id is never touched (and counts as refused). */
export async function writeApiRows(m: EntityManager, table: TableName, rows: Row[]): Promise<number> {
  if (rows.length === 0) return 0;
  const spec = tableSpec(m.connection, table);
  const records = rows.map((row) => {
    const rec = toRecord(spec, row);
    if (typeof rec === 'string') throw new AppError(400, 'unstorable_value', `A value cannot be stored: ${rec}.`, { table, sourceId: row.sourceId });
    return rec;
  });
  const cols = spec.columns.filter((c) => c.column !== 'batch_id');
  const defs = cols.map((c) => `"${c.column}" ${c.sqlType}`).join(', ');
  const data = spec.dataColumns.map((c) => `"${c.column}"`);
  const tuple = (alias: string) => `(${data.map((c) => `${alias}.${c}`).join(', ')})`;
  const res: { n: string }[] = await m.query(
    `WITH w AS (
       INSERT INTO "${table}" (${cols.map((c) => `"${c.column}"`).join(', ')}, "batch_id")
       SELECT ${cols.map((c) => `i."${c.column}"`).join(', ')}, NULL FROM json_to_recordset($1::json) AS i(${defs})
       ON CONFLICT (id) DO UPDATE SET ${[...data, '"batch_id"'].map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
       WHERE "${table}".user_id = EXCLUDED.user_id AND ${tuple(`"${table}"`)} IS DISTINCT FROM ${tuple('EXCLUDED')}
       RETURNING 1)
     SELECT count(*) AS n FROM w`,
    [JSON.stringify(records)],
  );
  return Number(res[0].n);
}

/** Deletes rows of one user by id; cascades follow the foreign keys (and are recorded by the trigger too). */
export async function deleteApiRows(m: EntityManager, table: TableName, userId: string, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await m.query(`WITH d AS (DELETE FROM "${table}" WHERE user_id = $1 AND id = ANY($2::uuid[]) RETURNING 1) SELECT count(*) AS n FROM d`, [userId, ids]);
  return Number(res[0].n);
}
