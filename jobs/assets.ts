/**
 * Assets (binaries moved out of `data:` URLs) leave with the batch that stored them, unless something still
 * needs them. A batch records the assets it stores (`batch_assets`, in the page transaction that writes the
 * rows using them); once a rollback has committed, `releaseAssets` deletes each asset of a rolled-back batch
 * that no longer has a reason to exist:
 *  - another batch that is not rolled back recorded it;
 *  - any row of any user (a migrated row, one written through the data API with `batch_id` NULL, a preserved
 *    entry) mentions it, in any column;
 *  - the before-image of a batch still applied mentions it (its own rollback would bring the row back).
 *
 * Races: whoever stores an asset (a phase page, a data-API write) holds a SHARED per-asset advisory lock
 * until its transaction commits (`storeAssets`, jobs/write/assets.ts); `releaseAssets` takes the EXCLUSIVE lock of each candidate before it looks.
 * So a writer either commits first (its row or record is then seen, and the asset kept) or starts after the
 * delete (and finds the object missing, so it stores it again).
 */
import type { DataSource, EntityManager } from 'typeorm';
import { assetKey } from '../core/assets';
import type { ObjectStore } from '../core/objectStore';
import { assetLockName as lockName } from './write/assets';
import { ALL_TABLES } from './layouts';

/** Candidates per transaction: each holds its locks, and every table is scanned once per round. */
const ROUND = 200;

export interface ReleaseReport {
  deleted: string[];
  kept: string[];
}

/**
 * Deletes the assets of rolled-back batches (all of them, or those of `batchIds`) that nothing needs any
 * more, and forgets those batches' records of them. Idempotent: run after each rollback and by the periodic
 * clean-up (which catches a rollback job that stopped between its undo and this).
 */
export async function releaseAssets(ds: DataSource, store: ObjectStore, batchIds?: string[]): Promise<ReleaseReport> {
  const report: ReleaseReport = { deleted: [], kept: [] };
  for (;;) {
    const rows: { sha256: string }[] = await ds.query(
      `SELECT DISTINCT a.sha256 FROM batch_assets a JOIN migration_batches b ON b.id = a.batch_id
       WHERE b.status = 'rolled_back' AND ($1::uuid[] IS NULL OR b.id = ANY($1::uuid[])) ORDER BY a.sha256 LIMIT ${ROUND}`,
      [batchIds ?? null],
    );
    if (rows.length === 0) return report;
    await ds.transaction(async (m) => {
      const shas = rows.map((r) => r.sha256);
      await m.query(`SELECT pg_advisory_xact_lock(hashtextextended(n, 0)) FROM unnest($1::text[]) AS n ORDER BY n`, [shas.map(lockName)]);
      const needed = await stillNeeded(m, shas);
      for (const sha of shas) {
        if (needed.has(sha)) report.kept.push(sha);
        else {
          await store.delete(assetKey(sha)); // inside the transaction: if it fails, the records stay for the next run
          report.deleted.push(sha);
        }
      }
      await m.query(
        `DELETE FROM batch_assets a USING migration_batches b WHERE b.id = a.batch_id AND b.status = 'rolled_back' AND a.sha256 = ANY($1::text[])`,
        [shas],
      );
    });
  }
}

/** Which of `shas` something still needs (see the header); one scan per table for the whole round. */
async function stillNeeded(m: EntityManager, shas: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const held: { sha256: string }[] = await m.query(
    `SELECT DISTINCT a.sha256 FROM batch_assets a JOIN migration_batches b ON b.id = a.batch_id
     WHERE a.sha256 = ANY($1::text[]) AND b.status <> 'rolled_back'`,
    [shas],
  );
  for (const h of held) found.add(h.sha256);
  // Both URL forms end in `/v1/assets/<sha256>`; the digest is what identifies the object.
  const mentions = (source: string, text: string, where = '') =>
    `SELECT DISTINCT x[1] AS sha256 FROM ${source}, regexp_matches(${text}, 'assets/([0-9a-f]{64})', 'g') AS x WHERE x[1] = ANY($1::text[]) ${where}`;
  const queries = ALL_TABLES.map((t) => mentions(`"${t}" t`, 't::text'));
  queries.push(mentions(`row_journal j JOIN migration_batches b ON b.id = j.batch_id`, 'j.before::text', `AND b.status <> 'rolled_back' AND j.before IS NOT NULL`));
  for (const q of queries) {
    const rest = shas.filter((s) => !found.has(s));
    if (rest.length === 0) break;
    const rows: { sha256: string }[] = await m.query(q, [rest]);
    for (const r of rows) found.add(r.sha256);
  }
  return found;
}
