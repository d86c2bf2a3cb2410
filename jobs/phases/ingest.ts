/**
 * Phase 1: stream the stored dump from the object store into dump_entries, classified by the layout.
 * Memory stays bounded by one chunk of entries. The digest of the stored bytes and the entry count must
 * match what the API accepted; otherwise nothing is kept (a truncated or altered dump is refused whole).
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { openDump, type DumpEntry } from '../../format';
import { readDumpObject } from '../dumpObjects';
import { PermanentJobError } from '../errors';
import type { PhaseRun } from './context';
import { sealAad } from './staged';

const CHUNK_ENTRIES = 500;
const CHUNK_BYTES = 4 * 1024 * 1024;

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

export async function ingest(run: PhaseRun): Promise<void> {
  const { deps, batch } = run;
  // A retry starts over: staging is a pure function of the stored dump.
  await deps.ds.query(`DELETE FROM batch_rejects WHERE batch_id = $1`, [batch.id]);
  await deps.ds.query(`DELETE FROM dump_entries WHERE batch_id = $1`, [batch.id]);
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
  let seq = 0;
  let chunk: StagedRow[] = [];
  let chunkBytes = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    await deps.ds.query(
      `INSERT INTO dump_entries (batch_id, seq, area, db_name, db_version, store_name, entry_key, kind, value, sealed, value_bytes)
       SELECT $1, r.seq, r.area, r.db_name, r.db_version, r.store_name, r.entry_key, r.kind, r.value, r.sealed, r.value_bytes
       FROM json_to_recordset($2::json) AS r(seq int, area text, db_name text, db_version int, store_name text, entry_key text, kind text, value text, sealed boolean, value_bytes int)`,
      [batch.id, JSON.stringify(chunk)],
    );
    chunk = [];
    chunkBytes = 0;
    await run.progress(seq, batch.entryCount);
  };
  try {
    const { entries } = await openDump(tee, batch.encoding);
    for await (const e of entries) {
      const row = stage(run, e, seq++);
      chunk.push(row);
      chunkBytes += row.value_bytes;
      if (chunk.length >= CHUNK_ENTRIES || chunkBytes >= CHUNK_BYTES) await flush();
    }
    await flush();
  } catch (err) {
    await deps.ds.query(`DELETE FROM dump_entries WHERE batch_id = $1`, [batch.id]);
    throw err;
  } finally {
    (source as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.(); // releases the file handle / socket
  }
  const digest = hash.digest('hex');
  if (digest !== batch.dumpSha256 || seq !== batch.entryCount) {
    await deps.ds.query(`DELETE FROM dump_entries WHERE batch_id = $1`, [batch.id]);
    throw new PermanentJobError(
      'dump_altered',
      `The stored dump no longer matches what was accepted (${seq} of ${batch.entryCount} entries; digest ${digest === batch.dumpSha256 ? 'matches' : 'differs'}). Upload it again.`,
    );
  }
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
