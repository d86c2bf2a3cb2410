/** The audit log: who did what, when, to what, and how it ended. */
import type { DataSource, EntityManager } from 'typeorm';

export interface AuditRecord {
  actor: string;
  action: string;
  target: string | null;
  outcome: 'ok' | 'refused' | 'failed' | 'queued';
  details?: Record<string, unknown>;
}

export async function recordAudit(db: DataSource | EntityManager, a: AuditRecord): Promise<void> {
  await db.query(`INSERT INTO audit_log (actor, action, target, outcome, details) VALUES ($1, $2, $3, $4, $5)`, [
    a.actor, a.action, a.target, a.outcome, JSON.stringify(a.details ?? {}),
  ]);
}
