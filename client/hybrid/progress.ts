/**
 * The uploader's stage-by-stage progress (snapshot → upload → processing → done) turned into the one
 * stream a page shows as a single bar and a sentence: `fraction` of the current stage and a message that
 * says what is happening, or — on failure — what went wrong and what to do.
 */
import type { BatchStatus, MigrationProgress } from '../types';
import type { HybridProgress } from './types';

/** Share of a batch's work done: finished phases, plus the running phase's own done/total. */
export function batchFraction(b: BatchStatus): number | null {
  const phases = b.phases ?? [];
  if (phases.length === 0) return null;
  let done = 0;
  for (const p of phases) {
    if (p.status === 'completed' || p.status === 'skipped') done += 1;
    else if (p.status === 'running' && p.total) done += Math.min(1, (p.done ?? 0) / p.total);
  }
  return done / phases.length;
}

function running(b: BatchStatus): string {
  const p = b.phases?.find((x) => x.status === 'running');
  if (!p) return b.status;
  return p.total ? `${p.name} (${p.done ?? 0}/${p.total})` : p.name;
}

const FINAL: Record<string, string> = {
  completed: 'completed and verified',
  needs_attention: 'needs attention: some entries could not be migrated (see the report); an operator can retry or roll back',
  failed: 'failed; an operator can retry it — your data is still in this browser',
  rolled_back: 'was rolled back; your data is still in this browser',
};

/** `what`: "Migration" or "Switch" — the batch the message is about. */
export function fromUploader(p: MigrationProgress, what: 'Migration' | 'Switch'): HybridProgress {
  const stage = what === 'Switch' ? 'switch' : undefined;
  switch (p.stage) {
    case 'snapshot':
      if (p.partial) return { stage: 'snapshot', fraction: null, message: `Reading this browser's storage: ${p.summary.total.entries} entries, ${p.summary.total.bytes} bytes so far`, detail: p.summary };
      return { stage: 'snapshot', fraction: 1, message: `Snapshot taken: ${p.summary.total.entries} entries, ${p.summary.total.bytes} bytes`, detail: p.summary };
    case 'upload':
      return { stage: 'upload', fraction: p.bytesTotal ? p.bytesSent / p.bytesTotal : null, message: `Uploading ${p.bytesSent} of ${p.bytesTotal} bytes${p.resumedFrom ? ` (resumed at ${p.resumedFrom})` : ''}` };
    case 'uploaded':
      return { stage: 'upload', fraction: 1, batchId: p.batchId, message: `Uploaded; batch ${p.batchId} queued` };
    case 'processing':
      return { stage: stage ?? 'processing', fraction: batchFraction(p.batch), batchId: p.batch.id, message: `${what}: ${running(p.batch)}`, detail: p.batch };
    case 'done': {
      const ok = p.batch.status === 'completed';
      return {
        stage: ok ? stage ?? 'done' : 'error', fraction: ok ? 1 : batchFraction(p.batch), batchId: p.batch.id,
        message: `${what} ${FINAL[p.batch.status] ?? p.batch.status}`, detail: { batch: p.batch, report: p.report },
      };
    }
  }
}
