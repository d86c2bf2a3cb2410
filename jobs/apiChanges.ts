/**
 * Writes made through the data API (api_writes, recorded by a trigger) that rolling back batches would
 * discard: a rollback restores or deletes the rows a batch wrote, so any later API write to those rows —
 * and any API-written row referencing a row the batch inserted (its delete would cascade) — would be lost.
 * A plain rollback refuses while there are any (409 naming them); a forced one goes ahead and the audit
 * log keeps what was overwritten, values included.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { API_WRITES_AFTER_BATCHES } from './write/apiWrites';

export interface ApiChange {
  table: string;
  rowId: string;
  sourceId: string | null;
  /** insert | update | delete, or `references` for an API-written row that would go with its parent. */
  op: string;
  at: string | null;
  actor: string | null;
  requestId: string | null;
  /** The row as the API left it (null when the API deleted it). */
  value: Record<string, unknown> | null;
}

export interface ApiChanges {
  count: number;
  /** The first `limit` changes, oldest first. */
  changes: ApiChange[];
}

/**
 * API changes that rolling back `batchIds` (all of one user) would discard, in one statement. `references`
 * (default): also API-written rows referencing a row the batches inserted, which a rollback's delete of
 * that row would take along; a delta, which writes its bases' rows again rather than deleting them, leaves
 * them out.
 */
export async function findApiChanges(db: DataSource | EntityManager, userId: string, batchIds: string[], limit = 100, { references = true } = {}): Promise<ApiChanges> {
  const ds = 'connection' in db ? db.connection : db;
  // API-written rows (batch_id NULL) referencing a row the batches inserted: one SELECT per foreign key.
  const refs = ds.entityMetadatas.flatMap((meta) =>
    meta.manyToOneRelations.map((rel) =>
      `SELECT '${meta.tableName}'::text AS table_name, c.id AS row_id, c.source_id, to_jsonb(c) AS value
       FROM "${meta.tableName}" c JOIN row_journal j ON j.row_id = c."${rel.joinColumns[0].databaseName}"
         AND j.table_name = '${rel.inverseEntityMetadata.tableName}' AND j.op = 'insert' AND j.batch_id = ANY($2::uuid[])
       WHERE c.batch_id IS NULL`));
  const withRefs = `,
     refs AS (SELECT DISTINCT ON (table_name, row_id) * FROM (${refs.join(' UNION ALL ')}) r
              WHERE NOT EXISTS (SELECT 1 FROM later l WHERE l.table_name = r.table_name AND l.row_id = r.row_id))`;
  const rows: Record<string, unknown>[] = await db.query(
    `WITH later AS (
       SELECT w.seq, w.table_name::text, w.row_id, coalesce(w.after->>'source_id', w.before->>'source_id') AS source_id, w.op::text, w.at, w.actor, w.request_id, w.after AS value
       ${API_WRITES_AFTER_BATCHES})${references ? withRefs : ''},
     every AS (
       SELECT seq, table_name, row_id, source_id, op, at, actor, request_id, value FROM later
       ${references ? `UNION ALL
       SELECT NULL, table_name, row_id, source_id, 'references', NULL, NULL, NULL, value FROM refs` : ''})
     SELECT *, count(*) OVER () AS total FROM every ORDER BY seq NULLS LAST, table_name, row_id LIMIT $3`,
    [userId, batchIds, limit],
  );
  return { count: Number(rows[0]?.total ?? 0), changes: rows.map(toChange) };
}

/**
 * Marks the API writes a forced undo of `batchId` overwrote as discarded by it (before its journal goes):
 * settled, they no longer block a later rollback of an older batch. Same criterion as findApiChanges.
 */
export async function markApiWritesDiscarded(m: EntityManager, userId: string, batchId: string): Promise<void> {
  await m.query(`UPDATE api_writes SET discarded_by = $3 WHERE seq IN (SELECT w.seq ${API_WRITES_AFTER_BATCHES})`, [userId, [batchId], batchId]);
}

function toChange(r: Record<string, unknown>): ApiChange {
  return {
    table: String(r.table_name),
    rowId: String(r.row_id),
    sourceId: (r.source_id as string | null) ?? null,
    op: String(r.op),
    at: r.at ? new Date(r.at as string).toISOString() : null,
    actor: (r.actor as string | null) ?? null,
    requestId: (r.request_id as string | null) ?? null,
    value: (r.value as Record<string, unknown> | null) ?? null,
  };
}

/** One line for people: "3 change(s) through the data API: content_items 1754… (update by token:…), …". */
export function describeApiChanges(c: ApiChanges): string {
  const shown = c.changes.slice(0, 3).map((x) => `${x.table} ${x.sourceId ?? x.rowId} (${x.op}${x.actor ? ` by ${x.actor}` : ''})`);
  return `${c.count} change(s) through the data API since: ${shown.join(', ')}${c.count > shown.length ? ', …' : ''}`;
}

/** Thrown inside a rollback when API changes appeared and the rollback is not forced: final, not retried. */
export class ApiChangesError extends Error {
  constructor(readonly changes: ApiChanges) {
    super(`rolling back would discard ${describeApiChanges(changes)}`);
    this.name = 'ApiChangesError';
  }
}
