/**
 * Worker error classes decide whether to retry (docs/style.md §2.7). A PermanentJobError fails the phase at once
 * (BullMQ does not retry an UnrecoverableError); anything else is retried with exponential backoff.
 */
import { UnrecoverableError } from 'bullmq';

export class PermanentJobError extends UnrecoverableError {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/** SQLSTATE classes that no retry can fix: data exceptions, integrity violations, syntax/undefined objects. */
const PERMANENT_SQLSTATE_CLASSES = new Set(['22', '23', '42']);

/** Wraps errors that are known to be permanent; leaves the rest (retryable) as they are. */
export function classifyJobError(err: unknown): unknown {
  if (err instanceof UnrecoverableError) return err;
  const e = err as { code?: unknown; message?: string; name?: string };
  if (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && PERMANENT_SQLSTATE_CLASSES.has(e.code.slice(0, 2))) {
    return new PermanentJobError('database_rejected', `Postgres refused the data (SQLSTATE ${e.code}): ${e.message}`);
  }
  if (e?.name === 'DumpFormatError') return new PermanentJobError(String(e.code ?? 'dump_invalid'), String(e.message));
  if (e?.name === 'ObjectNotFoundError' || e?.code === 'object_not_found') {
    return new PermanentJobError('dump_missing', 'The stored dump is missing from the object store; upload it again.');
  }
  return err;
}
