/** Creating batches and reading their status; shared by the JSON/NDJSON endpoint and resumable uploads. */
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { MigrationBatch, MigrationPhase } from '../entities';
import { DEFAULT_LAYOUT, phasesOf } from './layouts';
import type { PhaseName } from './names';

export interface NewBatch {
  userId: string;
  dumpKey: string;
  dumpSha256: string;
  dumpBytes: number;
  encoding: 'json' | 'ndjson';
  entryCount: number;
  source: Record<string, unknown>;
  websiteHint: string | null;
  idempotencyKey: string | null;
  /** The layout the batch is migrated with (jobs/layouts.ts); DEFAULT_LAYOUT when the upload names none. */
  layout?: string;
  /** A delta (docs/cutover.md): its base and chain, and notes to start with. */
  delta?: { baseBatchId: string; rootBatchId: string; lines: number; puts: number; removals: number };
}

/**
 * Inserts the batch and its phases (its layout's phase list), or returns the user's existing batch for the
 * same dump and layout (or the same Idempotency-Key). `created` says which. The same dump with another
 * layout is another batch: it maps to other tables, so neither could stand for the other.
 */
export async function createBatch(ds: DataSource, nb: NewBatch): Promise<{ batch: MigrationBatch; created: boolean }> {
  const layout = nb.layout ?? DEFAULT_LAYOUT;
  const phases = phasesOf(layout); // an unknown layout is refused before anything is written
  nb = { ...nb, layout };
  const existing = await findDuplicate(ds, nb);
  if (existing) return { batch: existing, created: false };
  const id = randomUUID();
  try {
    await ds.transaction(async (m) => {
      await m.insert(MigrationBatch, {
        id, userId: nb.userId, status: 'received', dumpKey: nb.dumpKey, dumpSha256: nb.dumpSha256, dumpBytes: String(nb.dumpBytes),
        encoding: nb.encoding, layout, entryCount: nb.entryCount, source: nb.source as never, websiteHint: nb.websiteHint, idempotencyKey: nb.idempotencyKey,
        notes: (nb.delta ? { delta: { base: nb.delta.baseBatchId, lines: nb.delta.lines, puts: nb.delta.puts, removals: nb.delta.removals } } : {}) as never,
        error: null, verification: null,
        kind: nb.delta ? 'delta' : 'snapshot', baseBatchId: nb.delta?.baseBatchId ?? null, rootBatchId: nb.delta?.rootBatchId ?? null,
      });
      await m.insert(MigrationPhase, phases.map((name, position) => ({ batchId: id, name, position, status: 'pending' as const })));
    });
  } catch (err) {
    // Two identical requests at once: the unique index lets one win; the other returns its batch.
    if ((err as { code?: string }).code === '23505') {
      const winner = await findDuplicate(ds, nb);
      if (winner) return { batch: winner, created: false };
    }
    throw err;
  }
  return { batch: (await ds.getRepository(MigrationBatch).findOneByOrFail({ id })), created: true };
}

async function findDuplicate(ds: DataSource, nb: NewBatch): Promise<MigrationBatch | null> {
  const repo = ds.getRepository(MigrationBatch);
  if (nb.idempotencyKey) {
    const byKey = await repo.findOneBy({ userId: nb.userId, idempotencyKey: nb.idempotencyKey });
    if (byKey) return byKey;
  }
  return repo.findOneBy({ userId: nb.userId, dumpSha256: nb.dumpSha256, layout: nb.layout ?? DEFAULT_LAYOUT });
}

/** The batch's current run: 1, or higher once it was re-applied (after a rollback) or re-queued by the reconciler. */
export function runOf(batch: Pick<MigrationBatch, 'notes'>): number {
  return Number((batch.notes as { run?: number })?.run ?? 1);
}

/** The batch's own phases, in order (fixed at creation from its layout). */
export async function batchPhases(db: DataSource | EntityManager, batchId: string): Promise<PhaseName[]> {
  const rows: { name: string }[] = await db.query(`SELECT name FROM migration_phases WHERE batch_id = $1 ORDER BY position`, [batchId]);
  if (rows.length === 0) throw new Error(`batch ${batchId} has no phases`);
  return rows.map((r) => r.name);
}

/** Removes a batch that never got queued (its request was refused), leaving nothing half-written. */
export async function discardBatch(ds: DataSource, id: string): Promise<void> {
  await ds.transaction(async (m) => {
    await m.query(`DELETE FROM migration_phases WHERE batch_id = $1`, [id]);
    await m.query(`DELETE FROM migration_batches WHERE id = $1 AND status = 'received'`, [id]);
  });
}
