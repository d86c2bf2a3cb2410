/** Whatever no earlier phase took is kept raw in preserved_entries and counted, never dropped. */
import type { PhaseRun } from './context';
import { runEntryPhase } from './entryPhase';
import { UNKNOWN_KIND } from '../transforms/types';

export async function preserve(run: PhaseRun): Promise<void> {
  const { layout } = run;
  const all = [...new Set([UNKNOWN_KIND, ...layout.kinds, ...layout.phases.flatMap((p) => p.kinds)])];
  await runEntryPhase(run, all, (e) => ({
    outcome: 'preserved',
    reason: e.kind === UNKNOWN_KIND ? 'not part of the app mapping: kept raw' : `no ${e.kind} mapping ran for it: kept raw`,
  }));
}
