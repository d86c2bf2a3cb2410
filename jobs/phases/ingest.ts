/**
 * Phase 1: stream the stored dump from the object store into dump_entries, classified by the layout (a
 * delta: its base's entries with the delta's changes applied, docs/cutover.md).
 * Memory stays bounded by one entry (COPY streams with backpressure). The digest of the stored bytes and the entry count must
 * match what the API accepted; otherwise nothing is kept (a truncated or altered dump is refused whole).
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { isRemoval, openDelta, openDump, RawJsonString, type RawDumpEntry, type RawDumpItem } from '../../format';
import { dumpContent, readDumpObject } from '../dumpObjects';
import { binary, BINARY_COPY_HEADER, BINARY_COPY_TRAILER, binaryRow } from '../write/copyBinary';
import { jsonStringPieces } from '../write/copyText';
import { PermanentJobError } from '../errors';
import { recentlyStaged } from './recentlyStaged';
import type { PhaseRun } from './context';
import { sealAad } from './staged';

/** A string value longer than this (characters) is staged as the UTF-8 pieces of its JSON text (stage). */
const PIECES_MIN_CHARS = 1 << 20;

/** Progress is reported every this many entries. */
const PROGRESS_EVERY = 2000;

interface StagedRow {
  seq: number;
  area: string;
  db_name: string | null;
  db_version: number | null;
  store_name: string | null;
  entry_key: string;
  kind: string;
  /** The value's JSON text; as the UTF-8 pieces of it for a large string value (stage). */
  value: string | Buffer[];
  sealed: boolean;
  value_bytes: number;
}

const COLUMNS = ['batch_id', 'seq', 'area', 'db_name', 'db_version', 'store_name', 'entry_key', 'kind', 'value', 'sealed', 'value_bytes'];

/**
 * One COPY ... FROM STDIN for the whole dump (the fastest bulk path here, ~2x multi-row INSERT), in COPY's
 * binary format (copyBinary.ts: a large value goes in as the pieces it was made in, nothing escaped): one
 * statement, so a dump that turns out truncated, altered or malformed half-way leaves nothing staged.
 */
export async function ingest(run: PhaseRun): Promise<void> {
  const { batch } = run;
  if (batch.kind === 'delta') return ingestDelta(run);
  // The values the split will read, held until the commit (within recentlyStaged's bound) and then kept for
  // it, in case it runs in this process.
  const forSplit: StagedRow[] = [];
  let committed = false;
  let staged: number;
  try {
    staged = await stageStream(run, 'dump', async (items, write) => {
      let seq = 0;
      for await (const e of items) {
        if (isRemoval(e)) throw new PermanentJobError('dump_removal_outside_delta', 'The dump holds a removal ({"op":"delete"}); only deltas may.');
        const row = stage(run, e, seq++);
        await write(row);
        if (willBeSplit(run, row) && recentlyStaged.reserve(row.value_bytes)) forSplit.push(row);
        if (seq % PROGRESS_EVERY === 0) await run.progress(seq, batch.entryCount);
      }
      return { lines: seq, staged: seq };
    });
    committed = true;
  } finally {
    for (const row of forSplit) {
      recentlyStaged.release(row.value_bytes);
      if (committed) recentlyStaged.keep(batch.id, row.seq, row.value as Buffer[], row.value_bytes);
    }
  }
  await run.progress(staged, batch.entryCount);
}

/** A value staged as pieces (a large string) of a kind the split reads back whole, large enough to be split. */
function willBeSplit(run: PhaseRun, row: StagedRow): boolean {
  return typeof row.value !== 'string' && !row.sealed && Boolean(run.layout.slicedTransforms?.[row.kind]) && row.value_bytes >= run.deps.config.SLICE_MIN_BYTES;
}

/**
 * A delta (docs/cutover.md) stages the whole new state: its own entries first (seq 0…), then every entry
 * of its base that the delta neither replaces nor removes, carried over with its seq shifted past the
 * delta's (relative order kept). Sealed entries are re-sealed, since their seal is bound to batch and seq.
 */
async function ingestDelta(run: PhaseRun): Promise<void> {
  const { batch, deps } = run;
  const lines = Number((batch.notes as { delta?: { lines?: number } }).delta?.lines ?? batch.entryCount);
  const [base] = await deps.ds.query(`SELECT entry_count, notes ? 'dumpDeletedAt' AS removed, (SELECT count(*)::int FROM dump_entries WHERE batch_id = $1) AS staged FROM migration_batches WHERE id = $1`, [batch.baseBatchId]);
  if (!base || base.removed || base.staged !== base.entry_count) {
    throw new PermanentJobError('base_unavailable', `The delta's base batch ${batch.baseBatchId} no longer has its staged entries (removed by retention, or never staged); take a new snapshot instead.`);
  }
  const staged = await stageStream(run, 'delta', async (items, write, client) => {
    const refs: { area: string; db: string | null; store: string | null; k: string }[] = [];
    let seq = 0;
    let puts = 0;
    for await (const e of items) {
      if (isRemoval(e)) {
        refs.push({ area: e.area, db: e.area === 'indexedDB' ? e.db : null, store: e.area === 'indexedDB' ? e.store : null, k: JSON.stringify(e.key) });
        seq++;
        continue;
      }
      const row = stage(run, e, puts++);
      refs.push({ area: row.area, db: row.db_name, store: row.store_name, k: row.entry_key });
      await write(row);
      seq++;
    }
    return { lines: seq, staged: puts, after: () => carryOver(run, client, refs, puts) };
  }, lines);
  await run.progress(staged, staged);
}

/** Copies the base's entries that the delta leaves alone; returns how many. */
async function carryOver(run: PhaseRun, client: PoolClient, refs: object[], offset: number): Promise<number> {
  const { batch, deps } = run;
  const untouched = `NOT EXISTS (SELECT 1 FROM json_to_recordset($3::json) AS r(area text, db text, store text, k text)
    WHERE r.area = d.area AND r.db IS NOT DISTINCT FROM d.db_name AND r.store IS NOT DISTINCT FROM d.store_name AND r.k = d.entry_key)`;
  const copied = await client.query(
    `INSERT INTO dump_entries (${COLUMNS.join(', ')})
     SELECT $1, d.seq + $4, d.area, d.db_name, d.db_version, d.store_name, d.entry_key, d.kind, d.value, d.sealed, d.value_bytes
     FROM dump_entries d WHERE d.batch_id = $2 AND NOT d.sealed AND ${untouched}`,
    [batch.id, batch.baseBatchId, JSON.stringify(refs), offset],
  );
  const sealed = await client.query(`SELECT * FROM dump_entries d WHERE d.batch_id = $2 AND d.sealed AND ${untouched.replace('$3', '$1')}`, [JSON.stringify(refs), batch.baseBatchId]);
  for (const d of sealed.rows) {
    const plain = deps.secrets.open(JSON.parse(d.value), sealAad(batch.baseBatchId!, d.seq));
    const value = JSON.stringify(deps.secrets.seal(plain, sealAad(batch.id, d.seq + offset)));
    await client.query(
      `INSERT INTO dump_entries (${COLUMNS.join(', ')}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, $10)`,
      [batch.id, d.seq + offset, d.area, d.db_name, d.db_version, d.store_name, d.entry_key, d.kind, value, d.value_bytes],
    );
  }
  return (copied.rowCount ?? 0) + sealed.rows.length;
}

type Writer = (row: StagedRow) => Promise<void>;
interface Staging { lines: number; staged: number; after?: () => Promise<number> }

/**
 * The skeleton both kinds share: stream the stored object through its digest into one COPY, inside one
 * transaction that first drops what an earlier attempt staged (staging is a pure function of the stored
 * object, so a retry starts over); check digest and line count against what the API accepted; run
 * `after` in the same transaction; record the number of staged entries as the batch's entry count.
 */
async function stageStream(
  run: PhaseRun,
  what: 'dump' | 'delta',
  body: (items: AsyncGenerator<RawDumpItem>, write: Writer, client: PoolClient) => Promise<Staging>,
  expectedLines = run.batch.entryCount,
): Promise<number> {
  const { deps, batch } = run;
  const hash = createHash('sha256');
  const source = await readDumpObject(deps.store, deps.config, batch.dumpKey);
  const tee = new Transform({
    transform(c: Buffer, _enc, cb) {
      hash.update(c);
      cb(null, c);
    },
  });
  source.on('error', (e) => tee.destroy(e));
  source.pipe(tee);
  const qr = deps.ds.createQueryRunner();
  const client = (await qr.connect()) as PoolClient;
  try {
    await client.query('BEGIN');
    await client.query(`DELETE FROM batch_rejects WHERE batch_id = $1`, [batch.id]);
    await client.query(`DELETE FROM dump_entries WHERE batch_id = $1`, [batch.id]);
    const copy = client.query(copyFrom(`COPY dump_entries (${COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`));
    const copied = finished(copy);
    copied.catch(() => undefined); // awaited below; a failure mid-way surfaces on write or there
    let result: Staging;
    try {
      const text = dumpContent(tee, batch.dumpKey, deps.config); // the digest covers the stored bytes; a gzip dump inflates here
      // A large Web Storage value comes as the bytes of its JSON text (rawStrings), staged as they are.
      const read = { rawStrings: true };
      const { entries } = what === 'delta' ? await openDelta(text, batch.encoding, read) : await openDump(text, batch.encoding, read);
      copy.write(BINARY_COPY_HEADER);
      const batchId = binary.uuid(batch.id);
      // A large value (Catalyst keeps every content item in ONE localStorage value, ~110 MB for 200,000) goes
      // into the stream as its pieces, with backpressure: measured on that value against the bind parameter
      // it was sent as before, 3.0–4.0 s instead of 4.3–5.2 s, 1.2–1.7 s of this process's CPU instead of 2.0–3.0.
      const write: Writer = async (row) => {
        let ok = true;
        for (const piece of stagedRow(batchId, row)) ok = copy.write(piece) && ok;
        if (!ok) await once(copy, 'drain');
      };
      result = await body(entries, write, client);
      const digest = hash.digest('hex');
      if (digest !== batch.dumpSha256 || result.lines !== expectedLines) {
        throw new PermanentJobError(
          'dump_altered',
          `The stored ${what} no longer matches what was accepted (${result.lines} of ${expectedLines} entries; digest ${digest === batch.dumpSha256 ? 'matches' : 'differs'}). Upload it again.`,
        );
      }
      copy.end(BINARY_COPY_TRAILER);
      await copied;
    } catch (err) {
      copy.destroy(err as Error); // aborts the COPY: nothing of it is kept
      throw err;
    }
    const carried = result.after ? await result.after() : 0;
    await client.query(SUPERSEDE_REPEATED_KEYS, [batch.id]); // over everything staged, a delta's carried entries too
    const staged = result.staged + carried;
    if (what === 'delta') {
      await client.query(
        `UPDATE migration_batches SET entry_count = $2, notes = notes || jsonb_build_object('delta', coalesce(notes->'delta', '{}'::jsonb) || $3::jsonb) WHERE id = $1`,
        [batch.id, staged, JSON.stringify({ lines: result.lines, puts: result.staged, removals: result.lines - result.staged, carried })],
      );
      batch.entryCount = staged;
    }
    await client.query('COMMIT');
    return staged;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    qr.release();
    (source as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.(); // releases the file handle / socket
  }
}

/**
 * A browser holds one value per localStorage / sessionStorage key and per IndexedDB key in a store, so a
 * dump that repeats one (a hand-edited or concatenated dump) says two different things about the same
 * value. The later entry wins, as the browser's last write would; the earlier ones are rejected here,
 * before any phase, with a reason naming the winner's seq (result.supersededBy): a group transform that
 * merges several keys into one row would otherwise take one of them silently.
 */
const SUPERSEDE_REPEATED_KEYS = `
  UPDATE dump_entries d
  SET outcome = 'rejected',
      reason = 'entry #' || w.winner || ' has the same '
               || CASE WHEN d.area = 'indexedDB' THEN 'key in IndexedDB store ' || d.db_name || '/' || d.store_name ELSE d.area || ' key' END
               || ' and comes later in the dump; the later entry wins, as the browser''s last write would: this value was not migrated',
      result = jsonb_build_object('supersededBy', w.winner)
  FROM (SELECT seq, max(seq) OVER (PARTITION BY area, db_name, store_name, entry_key) AS winner
        FROM dump_entries WHERE batch_id = $1) w
  WHERE d.batch_id = $1 AND d.seq = w.seq AND w.seq < w.winner`;

/** A staged row in COPY's binary format, its fields in COLUMNS' order. */
function stagedRow(batchId: Buffer, r: StagedRow): Buffer[] {
  const text = (v: string | null) => (v === null ? null : binary.text(v));
  return binaryRow([
    batchId, binary.int4(r.seq), binary.text(r.area), text(r.db_name), r.db_version === null ? null : binary.int8(r.db_version),
    text(r.store_name), binary.text(r.entry_key), binary.text(r.kind), typeof r.value === 'string' ? binary.text(r.value) : r.value,
    binary.bool(r.sealed), binary.int4(r.value_bytes),
  ]);
}


function stage(run: PhaseRun, e: RawDumpEntry, seq: number): StagedRow {
  const { layout } = run;
  const { secrets } = run.deps;
  const idb = e.area === 'indexedDB' ? e : null;
  const kind = layout.classify({ area: e.area, dbName: idb?.db ?? null, storeName: idb?.store ?? null, key: e.key });
  const sealed = layout.secretKinds.includes(kind);
  // A large string value (Catalyst keeps every content item in one) is staged as UTF-8 bytes: those of the
  // dump itself when the reader kept them (RawJsonString: exactly JSON.stringify's), else made a piece at a
  // time: its JSON text as one more string would be the worker's heap peak (up to 2 × 128 Mi characters
  // beside the value itself).
  const plain = e.value instanceof RawJsonString && sealed ? e.value.decode() : e.value;
  let value: string | Buffer[] = plain instanceof RawJsonString
    ? [...plain.pieces]
    : !sealed && typeof plain === 'string' && plain.length > PIECES_MIN_CHARS
      ? jsonStringPieces(plain)
      : JSON.stringify(plain === undefined ? null : plain);
  const bytes = typeof value === 'string' ? Buffer.byteLength(value) : value.reduce((n, p) => n + p.length, 0);
  if (sealed) value = JSON.stringify(secrets.seal(value as string, sealAad(run.batch.id, seq)));
  return {
    seq,
    area: e.area,
    db_name: idb?.db ?? null,
    db_version: idb?.dbVersion ?? null,
    store_name: idb?.store ?? null,
    entry_key: JSON.stringify(e.key),
    kind,
    value,
    sealed,
    value_bytes: bytes,
  };
}
