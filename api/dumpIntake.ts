/**
 * Taking in a dump, whichever way it arrives (POST /v1/dumps, a finished tus upload, a cutover delta):
 * the pieces those entry points share, so none of them imports another's handler.
 */
import { Errors } from '../core/errors';
import type { DumpEncoding } from '../format';
import { createBatch, discardBatch, type NewBatch } from '../jobs/batches';
import { transition } from '../jobs/lifecycle';
import { enqueueBatch } from '../jobs/pipeline';
import type { MigrationBatch } from '../entities';
import type { ApiDeps } from './context';
import { storableText } from './storableText';

/** A website id is kept as text with the batch (websiteHint): Postgres text cannot hold U+0000 or a lone surrogate. */
export const WebsiteIdSchema = storableText(200, 1);

export function encodingOf(contentType: string | undefined): DumpEncoding | null {
  const t = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (t === 'application/json') return 'json';
  if (t === 'application/x-ndjson' || t === 'application/ndjson') return 'ndjson';
  return null;
}

/**
 * Creates the batch of a dump already stored under `nb.dumpKey`. If that fails, the object goes too (unless
 * a batch of the same dump points at it), so a refused or failed request leaves no dump behind.
 */
export async function createBatchForDump(deps: ApiDeps, nb: NewBatch): ReturnType<typeof createBatch> {
  try {
    return await createBatch(deps.ds, nb);
  } catch (err) {
    try {
      const [row] = await deps.ds.query(`SELECT 1 FROM migration_batches WHERE dump_key = $1 LIMIT 1`, [nb.dumpKey]);
      if (!row) await deps.store.delete(nb.dumpKey);
    } catch (cleanup) {
      deps.log.warn({ dumpKey: nb.dumpKey, err: (cleanup as Error).message }, 'could not remove the dump of a batch that was not created');
    }
    throw err;
  }
}

/**
 * Keeps the id of the request that created the batch in its notes, before the flow is queued, so every
 * worker log line of the batch can carry it (jobs/runPhase.ts) and a support ticket's X-Request-Id finds
 * the batch (the dashboard searches notes.requestId). The tus finish hook can call it too.
 */
export async function rememberRequestId(deps: ApiDeps, batchId: string, requestId: string): Promise<void> {
  await deps.ds.query(`UPDATE migration_batches SET notes = notes || jsonb_build_object('requestId', $2::text) WHERE id = $1`, [batchId, requestId]);
}

/** Queues the batch's flow; if Redis refuses, the batch is removed again so nothing half-written remains. */
export async function startBatch(deps: ApiDeps, batch: MigrationBatch, created: boolean): Promise<void> {
  try {
    await enqueueBatch(deps.queues.flows, deps.ds, batch.id, deps.config);
  } catch (err) {
    deps.log.error({ batchId: batch.id, err: (err as Error).message }, 'could not queue the batch');
    if (created) {
      await discardBatch(deps.ds, batch.id);
      await deps.store.delete(batch.dumpKey).catch(() => undefined);
    }
    throw Errors.unavailable('The job queue (Redis)');
  }
  // From `received` only: a worker may already have taken it to running (or further), which stands.
  await transition(deps.ds, batch.id, { from: ['received'], to: 'queued', set: { error: null } });
}
