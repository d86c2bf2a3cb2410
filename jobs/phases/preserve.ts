/** Whatever no earlier phase took is kept raw in preserved_entries and counted, never dropped. */
import { PHASE_KINDS } from './kinds';
import type { PhaseRun } from './context';
import { runEntryPhase } from './entryPhase';
import type { EntryKind } from '../transforms/types';

export async function preserve(run: PhaseRun): Promise<void> {
  const all = [...new Set<EntryKind>(['unknown', ...Object.values(PHASE_KINDS).flat()])];
  await runEntryPhase(run, all, (e) => ({
    outcome: 'preserved',
    reason: e.kind === 'unknown' ? 'not part of the app mapping: kept raw' : `no ${e.kind} mapping ran for it: kept raw`,
  }));
}
