/**
 * Phase 1: stream the stored dump from the object store into dump_entries, classified by the layout.
 * Memory stays bounded by one entry (COPY streams with backpressure). The digest of the stored bytes and the entry count must
 * match what the API accepted; otherwise nothing is kept (a truncated or altered dump is refused whole).
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openDump, type DumpEntry } from '../../format';
import { readDumpObject } from '../dumpObjects';
import { PermanentJobError } from '../errors';
import type { PhaseRun } from './context';
import { sealAad } from './staged';

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
  value: string;
  sealed: boolean;
  value_bytes: number;
}

const COLUMNS = ['batch_id', 'seq', 'area', 'db_name', 'db_version', 'store_name', 'entry_key', 'kind', 'value', 'sealed', 'value_bytes'];

/**
 * One COPY ... FROM STDIN for the whole dump (the fastest bulk path here, ~2x multi-row INSERT): one
 * statement, so a dump that turns out truncated, altered or malformed half-way leaves nothing staged.
 */
export async function ingest(run: PhaseRun): Promise<void> {
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
  let seq = 0;
  try {
    await client.query('BEGIN');
    // A retry starts over: staging is a pure function of the stored dump.
    await client.query(`DELETE FROM batch_rejects WHERE batch_id = $1`, [batch.id]);
    await client.query(`DELETE FROM dump_entries WHERE batch_id = $1`, [batch.id]);
    const copy = client.query(copyFrom(`COPY dump_entries (${COLUMNS.join(', ')}) FROM STDIN`));
    const copied = finished(copy);
    copied.catch(() => undefined); // awaited below; a failure mid-way surfaces on write or there
    try {
      const { entries } = await openDump(tee, batch.encoding);
      for await (const e of entries) {
        if (!copy.write(copyLine(batch.id, stage(run, e, seq++)))) await once(copy, 'drain');
        if (seq % PROGRESS_EVERY === 0) await run.progress(seq, batch.entryCount);
      }
      const digest = hash.digest('hex');
      if (digest !== batch.dumpSha256 || seq !== batch.entryCount) {
        throw new PermanentJobError(
          'dump_altered',
          `The stored dump no longer matches what was accepted (${seq} of ${batch.entryCount} entries; digest ${digest === batch.dumpSha256 ? 'matches' : 'differs'}). Upload it again.`,
        );
      }
      copy.end();
      await copied;
      await client.query(SUPERSEDE_REPEATED_KEYS, [batch.id]);
    } catch (err) {
      copy.destroy(err as Error); // aborts the COPY: nothing of it is kept
      throw err;
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    qr.release();
    (source as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.(); // releases the file handle / socket
  }
  await run.progress(seq, batch.entryCount);
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

/** A row in COPY's text format: tab-separated, \N for null, backslash escapes for \\, tab, newline, CR. */
function copyLine(batchId: string, r: StagedRow): string {
  const f = (v: string | number | boolean | null) =>
    v === null ? '\\N' : typeof v === 'string' ? v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : String(v);
  return `${[batchId, r.seq, r.area, r.db_name, r.db_version, r.store_name, r.entry_key, r.kind, r.value, r.sealed, r.value_bytes].map(f).join('\t')}\n`;
}

function stage(run: PhaseRun, e: DumpEntry, seq: number): StagedRow {
  const { layout, secrets } = run.deps;
  const idb = e.area === 'indexedDB' ? e : null;
  const kind = layout.classify({ area: e.area, dbName: idb?.db ?? null, storeName: idb?.store ?? null, key: e.key });
  let value = JSON.stringify(e.value === undefined ? null : e.value);
  const bytes = Buffer.byteLength(value);
  const sealed = layout.secretKinds.includes(kind);
  if (sealed) value = JSON.stringify(secrets.seal(value, sealAad(run.batch.id, seq)));
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
