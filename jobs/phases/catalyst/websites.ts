/**
 * Catalyst's custom phase (CATALYST_PHASES marks it `custom`; jobs/layouts.ts binds it): websites from `catalyst_global/websites` and their per-website section databases, then the rule that
 * decides where global data (content types and items, deployment configs) goes, stated in the report:
 *   1. the websiteId given with the upload (created if the user has no such website yet);
 *   2. else the only website in the dump;
 *   3. else a website created for them ("Imported content").
 */
import { rowId } from '../../../core/ids';
import { GLOBAL_KINDS, SECTION_KINDS, unknownDate, websitesForSections } from '../../transforms/catalyst';
import type { Row } from '../../transforms/types';
import { upsertRows } from '../../write/upsertRows';
import { lockForBatchWrite } from '../../write/userLock';
import { mergeNotes } from '../applyResults';
import type { PhaseRun } from '../context';
import { runEntryPhase, transformContext, type BatchNotes } from '../entryPhase';

export const IMPORTED_WEBSITE_SOURCE_ID = '__imported__';

export async function websites(run: PhaseRun): Promise<void> {
  await runEntryPhase(run, ['website', 'website-config']);
  await websitesForOrphanSections(run);
  await chooseGlobalWebsite(run);
}

/** Sections whose website had no metadata or config record still produce a website (left as is if it exists). */
async function websitesForOrphanSections(run: PhaseRun): Promise<void> {
  const { ds, config } = run.deps;
  const dbs: { db_name: string }[] = await ds.query(
    `SELECT DISTINCT db_name FROM dump_entries WHERE batch_id = $1 AND kind = ANY($2) AND db_name IS NOT NULL`,
    [run.batch.id, SECTION_KINDS],
  );
  if (dbs.length === 0) return;
  const ctx = await transformContext(run);
  const candidates = websitesForSections(dbs.map((d) => d.db_name), ctx).rows?.websites ?? [];
  if (candidates.length === 0) return;
  const existing: { id: string }[] = await ds.query(`SELECT id FROM websites WHERE id = ANY($1::uuid[])`, [candidates.map((r) => r.id)]);
  const have = new Set(existing.map((e) => e.id));
  const missing = candidates.filter((r) => !have.has(r.id)).map((r) => ({ ...r, userId: run.batch.userId }));
  if (missing.length === 0) return;
  await ds.transaction(async (m) => {
    await lockForBatchWrite(m, run.batch, config.PHASE_LOCK_TIMEOUT_MS);
    await upsertRows(m, { batchId: run.batch.id, phase: run.phase }, 'websites', missing, config.WRITE_CHUNK_ROWS);
  });
  run.log.info({ websites: missing.map((r) => r.sourceId) }, 'websites created for section databases without metadata');
}

async function chooseGlobalWebsite(run: PhaseRun): Promise<void> {
  const { ds, config } = run.deps;
  const { batch } = run;
  const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM dump_entries WHERE batch_id = $1 AND kind = ANY($2)`, [batch.id, GLOBAL_KINDS]);
  if (n === 0) return;
  const inDump: { id: string; source_id: string }[] = await ds.query(
    `SELECT w.id, w.source_id FROM batch_rows b JOIN websites w ON w.id = b.row_id WHERE b.batch_id = $1 AND b.table_name = 'websites'`,
    [batch.id],
  );
  let choice: NonNullable<BatchNotes['globalWebsite']>;
  let create: Row | null = null;
  // Dated 1970-01-01 (unknown), like every timestamp no source gives: the migration time would make the
  // same batch applied again (or the same dump elsewhere) write another row.
  const now = unknownDate();
  const placeholder = (sourceId: string, name: string): Row => ({
    id: rowId(batch.userId, 'website', sourceId), sourceId, userId: batch.userId, name,
    slug: `${sourceId === IMPORTED_WEBSITE_SOURCE_ID ? 'imported-content' : 'website'}-${rowId(batch.userId, 'website', sourceId).slice(0, 8)}`,
    description: null, category: null, icon: null, storageQuota: null, metadata: { createdBy: 'migration' }, createdAt: now, updatedAt: now,
  });
  if (batch.websiteHint) {
    const id = rowId(batch.userId, 'website', batch.websiteHint);
    const [exists] = await ds.query(`SELECT 1 FROM websites WHERE id = $1`, [id]);
    if (!exists) create = placeholder(batch.websiteHint, `Website ${batch.websiteHint}`);
    choice = { id, sourceId: batch.websiteHint, rule: exists ? 'the websiteId given with the upload' : 'the websiteId given with the upload (not in the dump nor the database: created)' };
  } else if (inDump.length === 1) {
    choice = { id: inDump[0].id, sourceId: inDump[0].source_id, rule: 'the only website in the dump' };
  } else {
    create = placeholder(IMPORTED_WEBSITE_SOURCE_ID, 'Imported content');
    const [exists] = await ds.query(`SELECT 1 FROM websites WHERE id = $1`, [create.id]);
    if (exists) create = null; // made by an earlier batch: left as it is
    const id = rowId(batch.userId, 'website', IMPORTED_WEBSITE_SOURCE_ID);
    choice = {
      id, sourceId: IMPORTED_WEBSITE_SOURCE_ID,
      rule: inDump.length === 0 ? 'no website in the dump: a website was created for them' : `${inDump.length} websites in the dump and no websiteId given: a website was created for them`,
    };
  }
  await ds.transaction(async (m) => {
    await lockForBatchWrite(m, batch, config.PHASE_LOCK_TIMEOUT_MS);
    if (create) await upsertRows(m, { batchId: batch.id, phase: run.phase }, 'websites', [create], config.WRITE_CHUNK_ROWS);
    await mergeNotes(m, batch.id, { globalWebsite: choice });
  });
  run.log.info({ globalWebsite: choice }, 'global data website chosen');
}
