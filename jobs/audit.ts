/**
 * The audit log: who did what, when, to what, and how it ended. Append-only: an action that runs as a job
 * gets a `queued` entry when asked for and a second entry with the outcome, pointing at the first.
 */
import type { DataSource, EntityManager } from 'typeorm';

export interface AuditRecord {
  actor: string;
  action: string;
  target: string | null;
  outcome: 'ok' | 'refused' | 'failed' | 'queued';
  details?: Record<string, unknown>;
}

/** Appends an entry; returns its id. */
export async function recordAudit(db: DataSource | EntityManager, a: AuditRecord): Promise<string> {
  const [row] = await db.query(`INSERT INTO audit_log (actor, action, target, outcome, details) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [
    a.actor, a.action, a.target, a.outcome, JSON.stringify(a.details ?? {}),
  ]);
  return String(row.id);
}
