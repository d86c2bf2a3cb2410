/**
 * The large values this worker process has just staged, kept in memory for the split that follows. Catalyst's
 * one `content-storage` value (~110 MB) was written to dump_entries by ingest and read straight back by the
 * contentItems phase: ~1 s of Postgres (de-TOASTing, sending) while the worker waited, on the one stretch of
 * the batch where a single core works. When the split runs in the process that staged the value, soon after,
 * it takes the bytes from here; otherwise (another worker process, a restart, a retry later) it reads them
 * back as before. The bytes are exactly the staged text's (`value_bytes` is checked too).
 *
 * Bounded: at most MAX_BYTES held in the process, counting what ingests set aside until they commit (the
 * oldest kept values go first), each value at most TTL_MS, and a value is handed out once.
 */
import { decodePieces } from '../../format/utf8';

const MAX_BYTES = 256 * 1024 * 1024;
const TTL_MS = 15_000;

interface Held {
  pieces: readonly Buffer[];
  bytes: number;
  timer: NodeJS.Timeout;
}

export class RecentlyStaged {
  private readonly held = new Map<string, Held>();
  private total = 0;
  /** Bytes stagers set aside for values they will keep once their transaction commits. */
  private reserved = 0;
  /** How many values were handed out (the splits that did not read their value back). */
  hits = 0;

  constructor(private readonly maxBytes = MAX_BYTES, private readonly ttlMs = TTL_MS) {}

  /**
   * Sets `bytes` aside for a value a stager holds until its transaction commits (then keep(), or release()
   * if it fails): the bound covers what every ingest running in this process holds, not each one's.
   */
  reserve(bytes: number): boolean {
    if (this.total + this.reserved + bytes > this.maxBytes) return false;
    this.reserved += bytes;
    return true;
  }

  release(bytes: number): void {
    this.reserved = Math.max(0, this.reserved - bytes);
  }

  /** Keeps a value ingest staged (committed): the UTF-8 pieces of its JSON text, `bytes` long. */
  keep(batchId: string, seq: number, pieces: readonly Buffer[], bytes: number): void {
    if (bytes > this.maxBytes) return;
    // Pieces of a few large input chunks would hold those chunks whole: kept only when that is about the value.
    let retained = 0;
    for (const buffer of new Set(pieces.map((p) => p.buffer))) retained += buffer.byteLength;
    if (retained > 2 * bytes + (1 << 20)) return;
    const key = `${batchId}/${seq}`;
    this.drop(key);
    for (const oldest of this.held.keys()) {
      if (this.total + this.reserved + bytes <= this.maxBytes) break;
      this.drop(oldest);
    }
    const timer = setTimeout(() => this.drop(key), this.ttlMs).unref();
    this.held.set(key, { pieces, bytes, timer });
    this.total += bytes;
  }

  /** The staged text of the value, if this process holds it with that length (handed out once); else undefined. */
  take(batchId: string, seq: number, bytes: number): string | undefined {
    const key = `${batchId}/${seq}`;
    const held = this.held.get(key);
    this.drop(key);
    if (!held || held.bytes !== bytes) return undefined;
    this.hits++;
    return decodePieces(held.pieces);
  }

  /** Bytes held now. */
  get size(): number {
    return this.total;
  }

  private drop(key: string): void {
    const held = this.held.get(key);
    if (!held) return;
    clearTimeout(held.timer);
    this.held.delete(key);
    this.total -= held.bytes;
  }
}

/** This process's. */
export const recentlyStaged = new RecentlyStaged();
