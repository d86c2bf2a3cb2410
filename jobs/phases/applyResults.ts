/**
 * Writes what transforms returned for one page of entries, in one transaction: rows (parents before
 * children, references checked set-wise), element rejects, each entry's outcome, the batch notes and the
 * phase progress. A retried phase resumes at the first entry still 'pending'.
 */
import type { EntityManager } from 'typeorm';
import { rowId } from '../../core/ids';
import { rejects as rejectsMetric, rowsWritten } from '../../core/metrics';
import { tableSpec } from '../write/tableSpec';
import { writeOrder } from '../transforms/layout';
import { upsertRows, type WriteStats } from '../write/upsertRows';
import { lockForBatchWrite } from '../write/userLock';
import { storeAssets } from '../write/assets';
import type { ElementReject, Row, TableName, TransformResult } from '../transforms/types';
import type { PhaseRun } from './context';
import type { StagedEntry } from './staged';
import { printableJson } from '../../format';
import { DUPLICATE_ROW, duplicateReject, insertRejectRows, recordDisplaced, rowPath, type Displaced } from './supersede';

export interface PageTotals {
  rows: number;
  rejected: number;
  /** Entries this call applied: those of the page still pending once the user's lock was held. */
  applied: number;
}

interface EntryAccount {
  entry: StagedEntry;
  result: TransformResult;
  written: Record<TableName, number>;
  rejects: ElementReject[];
}

export async function applyResults(m: EntityManager, run: PhaseRun, entries: StagedEntry[], results: Map<number, TransformResult>): Promise<PageTotals> {
  const { batch, phase, deps } = run;
  await lockForBatchWrite(m, batch, deps.config.PHASE_LOCK_TIMEOUT_MS);
  // The page was read before the lock: another run of this phase (BullMQ recovering a stalled job while the
  // first is still alive) may have applied it meanwhile. Only the entries still pending now are applied,
  // locked until commit, so a page is applied once however many runs read it.
  const pending: { seq: number }[] = await m.query(
    `SELECT seq FROM dump_entries WHERE batch_id = $1 AND seq = ANY($2::int[]) AND outcome = 'pending' ORDER BY seq FOR UPDATE`,
    [batch.id, entries.map((e) => e.seq)],
  );
  const still = new Set(pending.map((p) => p.seq));
  if (still.size < entries.length) entries = entries.filter((e) => still.has(e.seq));
  if (entries.length === 0) return { rows: 0, rejected: 0, applied: 0 };
  // Binaries moved out of data: URLs, before the rows that use them, under the lock and for the entries
  // still pending only: a second run of the page neither waits on the first's records nor records again.
  await storeAssets(m, deps.store, entries.flatMap((e) => results.get(e.seq)?.blobs ?? []), batch.id);
  const accounts = new Map<number, EntryAccount>();
  for (const entry of entries) {
    const result = results.get(entry.seq) ?? { outcome: 'rejected', reason: 'the mapping produced nothing for this entry' };
    accounts.set(entry.seq, { entry, result, written: {}, rejects: [...(result.rejects ?? [])] });
  }
  // Entries the layout keeps raw become preserved_entries rows (lossless: the staged JSON text).
  for (const a of accounts.values()) {
    if (a.result.outcome !== 'preserved') continue;
    a.result = { ...a.result, rows: { ...a.result.rows, preserved_entries: [preservedRow(batch.userId, a.entry, a.result.reason ?? 'kept raw')] } };
  }
  const { totalRows, slugNotes, displaced } = await writeAccountRows(m, run, accounts);
  const outcomes = [...accounts.values()].map((a) => outcomeOf(a));
  // An entry whose data rides on another entry's rows shares that entry's fate.
  const bySeq = new Map(outcomes.map((o) => [o.seq, o]));
  for (const a of accounts.values()) {
    const owner = a.result.ridesOn === undefined ? undefined : bySeq.get(a.result.ridesOn);
    const mine = bySeq.get(a.entry.seq)!;
    if (owner && owner.outcome === 'rejected' && mine.outcome === 'migrated') {
      mine.outcome = 'rejected';
      mine.reason = `its data is part of the rows of entry #${owner.seq}, which could not be written: ${owner.reason}`;
    }
  }
  const rejects = await insertRejects(m, run, accounts.values());
  await m.query(
    `UPDATE dump_entries d SET outcome = o.outcome, reason = o.reason, result = o.result
     FROM json_to_recordset($2::json) AS o(seq int, outcome text, reason text, result jsonb)
     WHERE d.batch_id = $1 AND d.seq = o.seq`,
    [batch.id, printableJson(outcomes)],
  );
  const notes = Object.assign({}, ...[...accounts.values()].map((a) => a.result.notes ?? {}));
  if (Object.keys(slugNotes).length) notes[`contentTypeSlugs:${entries[0].seq}`] = slugNotes;
  if (Object.keys(notes).length) await mergeNotes(m, batch.id, notes);
  // Entries of earlier pages whose rows a later entry of this page replaced: their report changes too.
  const displacedRejects = await recordDisplaced(m, batch.id, phase, displaced);
  return { rows: totalRows, rejected: rejects.length + displacedRejects, applied: entries.length };
}

/**
 * Writes the rows of a page's accounts, table by table in the layout's order (parents first, references
 * checked set-wise); each account's `written` counts and `rejects` grow with what happened to its rows.
 */
async function writeAccountRows(m: EntityManager, run: PhaseRun, accounts: Map<number, EntryAccount>) {
  const { batch, phase, deps } = run;
  let totalRows = 0;
  const slugNotes: Record<string, string> = {};
  const displaced: Displaced[] = [];
  for (const table of writeOrder(run.layout)) {
    const owned: { seq: number; row: Row }[] = [];
    for (const a of accounts.values()) for (const row of a.result.rows?.[table] ?? []) owned.push({ seq: a.entry.seq, row: { ...row, userId: batch.userId } });
    if (owned.length === 0) continue;
    const { kept, dropped } = await checkReferences(m, table, owned, batch.userId);
    if (table === 'content_types') await keepSlugsUnique(m, kept.map((k) => k.row), slugNotes);
    for (const d of dropped) accounts.get(d.seq)!.rejects.push(d.reject);
    // Rows go in seq order with their entry's seq: two rows with one id keep the later entry's (upsertRows).
    const stats: WriteStats = await upsertRows(m, { batchId: batch.id, phase }, table, kept.map((k) => k.row), deps.config.WRITE_CHUNK_ROWS, kept.map((k) => k.seq));
    const refused = new Map(stats.refused.map((r) => [r.row, r]));
    const superseded = new Map(stats.superseded.map((r) => [r.row, r.by]));
    for (const k of kept) {
      const why = refused.get(k.row);
      const a = accounts.get(k.seq)!;
      if (why) a.rejects.push({ path: rowPath(table, k.row.sourceId), code: why.code ?? 'unstorable_value', reason: why.reason });
      else if (superseded.has(k.row)) a.rejects.push(duplicateReject(table, k.row, k.seq, superseded.get(k.row)!));
      else a.written[table] = (a.written[table] ?? 0) + 1;
    }
    totalRows += kept.length - stats.refused.length - stats.superseded.length;
    displaced.push(...stats.displaced.map((d) => ({ ...d, table })));
    // Rows actually changed (an unchanged row is not rewritten). Counted in the page transaction: a page
    // that rolls back and is retried counts again, which the metric's help says.
    rowsWritten.inc({ table }, stats.inserted + stats.updated);
  }
  return { totalRows, slugNotes, displaced };
}

/** The accounts' element rejects, as batch_rejects rows (and counted in the metric). */
async function insertRejects(m: EntityManager, run: PhaseRun, accounts: Iterable<EntryAccount>): Promise<unknown[]> {
  const { batch, phase } = run;
  const rejects = [...accounts].flatMap((a) => a.rejects.map((r) => ({ entry_seq: a.entry.seq, phase, path: r.path, code: r.code, reason: r.reason })));
  for (const r of rejects) rejectsMetric.inc({ phase, code: r.code });
  await insertRejectRows(m, batch.id, rejects);
  return rejects;
}

/** What one slice of an entry wrote (jobs/phases/slices.ts sums them into the entry's outcome). */
export interface SliceTotals {
  tables: Record<TableName, number>;
  /** Rows the mapping produced, written or not. */
  produced: number;
  rejects: number;
  /** The reason to give when none of the entry's rows was written: a lost duplicate's first, else the first reject's. */
  firstReject: string | null;
}

/**
 * Writes what the mapping of one slice of an entry returned (rows, element rejects, blobs), inside the
 * caller's transaction, which holds the user's row lock (shared: the entry's other slices write beside it)
 * and has checked that the slice is still pending. The entry's own outcome is settled once every slice is
 * done (jobs/phases/slices.ts).
 */
export async function applySlice(m: EntityManager, run: PhaseRun, entry: StagedEntry, result: TransformResult): Promise<SliceTotals> {
  await storeAssets(m, run.deps.store, result.blobs ?? [], run.batch.id);
  const account: EntryAccount = { entry, result, written: {}, rejects: [...(result.rejects ?? [])] };
  const accounts = new Map([[entry.seq, account]]);
  const { displaced } = await writeAccountRows(m, run, accounts);
  await insertRejects(m, run, [account]);
  await recordDisplaced(m, run.batch.id, run.phase, displaced);
  const produced = Object.values(result.rows ?? {}).reduce((n, rows) => n + (rows?.length ?? 0), 0);
  const why = account.rejects.find((r) => r.code === DUPLICATE_ROW) ?? account.rejects[0];
  return { tables: account.written, produced, rejects: account.rejects.length, firstReject: why?.reason ?? null };
}

function outcomeOf(a: EntryAccount): { seq: number; outcome: string; reason: string | null; result: unknown } {
  const wrote = Object.values(a.written).reduce((s, n) => s + (n ?? 0), 0);
  const produced = Object.values(a.result.rows ?? {}).reduce((s, rows) => s + (rows?.length ?? 0), 0);
  let outcome = a.result.outcome ?? 'migrated';
  let reason = a.result.reason ?? null;
  if (outcome === 'migrated' && produced > 0 && wrote === 0) {
    outcome = 'rejected';
    // A row another entry's won over says which entry won: that is the reason to give first.
    const why = a.rejects.find((r) => r.code === DUPLICATE_ROW) ?? a.rejects[0];
    reason = `none of its ${produced} row(s) could be written: ${why?.reason ?? 'see rejects'}`;
  }
  const result = { tables: a.written, rejects: a.rejects.length };
  return { seq: a.entry.seq, outcome, reason, result };
}

function preservedRow(userId: string, e: StagedEntry, reason: string): Row {
  return {
    id: rowId(userId, 'preserved_entry', e.area, e.dbName ?? '', e.storeName ?? '', e.entryKey),
    sourceId: [e.area, e.dbName, e.storeName, e.entryKey].filter((p) => p !== null).join('/'),
    area: e.area,
    dbName: e.dbName,
    storeName: e.storeName,
    entryKey: e.entryKey,
    value: e.raw,
    reason,
  };
}

/**
 * Foreign keys, checked set-wise before writing: a nullable reference to a row that doesn't exist is
 * cleared (and stays in the source data); a required one drops the row with a reason.
 */
async function checkReferences(m: EntityManager, table: TableName, owned: { seq: number; row: Row }[], userId: string) {
  const meta = m.connection.entityMetadatas.find((e) => e.tableName === table)!;
  const spec = tableSpec(m.connection, table);
  let kept = owned;
  const dropped: { seq: number; reject: ElementReject }[] = [];
  for (const rel of meta.manyToOneRelations) {
    const jc = rel.joinColumns[0];
    const prop = spec.columns.find((c) => c.column === jc.databaseName)!.property;
    const ids = [...new Set(kept.map((k) => k.row[prop]).filter((v): v is string => typeof v === 'string'))];
    if (ids.length === 0) continue;
    // Only the user's own rows: a row of another user with a colliding id is not a parent to build on.
    const found: { id: string }[] = await m.query(`SELECT id FROM "${rel.inverseEntityMetadata.tableName}" WHERE id = ANY($1::uuid[]) AND user_id = $2`, [ids, userId]);
    const exists = new Set(found.map((f) => f.id));
    const next: typeof kept = [];
    for (const k of kept) {
      const ref = k.row[prop];
      if (typeof ref !== 'string' || exists.has(ref)) next.push(k);
      else if (jc.isNullable) next.push({ seq: k.seq, row: { ...k.row, [prop]: null } });
      else
        dropped.push({
          seq: k.seq,
          reject: { path: rowPath(table, k.row.sourceId), code: 'missing_reference', reason: `its ${rel.inverseEntityMetadata.tableName} row (${prop}) is not in this dump nor among the user's rows` },
        });
    }
    kept = next;
  }
  return { kept, dropped };
}

export async function mergeNotes(m: EntityManager, batchId: string, notes: Record<string, unknown>): Promise<void> {
  await m.query(`UPDATE migration_batches SET notes = notes || $2::jsonb WHERE id = $1`, [batchId, printableJson(notes)]);
}

/**
 * Content-type slugs are unique per website (the plan's UNIQUE(website_id, slug)). A later dump may bring a
 * type of the same name under a new id: it gets the next free `-2`, `-3`… suffix, stated in the notes,
 * instead of failing the phase on the unique index.
 */
async function keepSlugsUnique(m: EntityManager, rows: Row[], notes: Record<string, string>): Promise<void> {
  const sites = [...new Set(rows.map((r) => r.websiteId as string))];
  const taken: { website_id: string; slug: string }[] = await m.query(
    `SELECT website_id, slug FROM content_types WHERE website_id = ANY($1::uuid[]) AND NOT (id = ANY($2::uuid[])) AND slug IS NOT NULL`,
    [sites, rows.map((r) => r.id)],
  );
  const used = new Set(taken.map((t) => `${t.website_id}/${t.slug}`));
  for (const r of rows) {
    if (typeof r.slug !== 'string') continue;
    let slug = r.slug;
    for (let n = 2; used.has(`${r.websiteId}/${slug}`); n++) slug = `${r.slug}-${n}`;
    if (slug !== r.slug) {
      notes[r.sourceId] = `slug "${r.slug}" is taken on this website by another content type: "${slug}" was used`;
      r.slug = slug;
    }
    used.add(`${r.websiteId}/${slug}`);
  }
}
