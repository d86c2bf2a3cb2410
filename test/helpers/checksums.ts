/** A checksum of every target table's rows (one user's), to prove "exactly the state before". */
import type { DataSource } from 'typeorm';
import { ALL_TABLES } from '../../jobs/layouts';

export async function tableChecksums(ds: DataSource, userId: string, opts: { withoutBatchId?: boolean } = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of ALL_TABLES) {
    const row = opts.withoutBatchId ? `(to_jsonb(t) - 'batch_id')::text` : `to_jsonb(t)::text`;
    const [r] = await ds.query(`SELECT count(*)::int AS n, coalesce(md5(string_agg(md5(${row}), '' ORDER BY t.id)), '-') AS sum FROM "${t}" t WHERE t.user_id = $1`, [userId]);
    out[t] = `${r.n}:${r.sum}`;
  }
  return out;
}
