/**
 * The phase registry: the pipeline's own phases (ingest, preserve, prune, verify) and, for a layout's
 * phases, the generic entry phase over their kinds or the custom handler the layout registry bound.
 */
import type { PhaseName } from '../names';
import type { PhaseHandler, RegisteredLayout } from './context';
import { runEntryPhase } from './entryPhase';
import { settleLargeEntries } from './slices';
import { ingest } from './ingest';
import { preserve } from './preserve';
import { prune } from './prune';
import { verify } from './verify';

export const PIPELINE_HANDLERS: ReadonlyMap<PhaseName, PhaseHandler> = new Map([
  ['ingest', ingest],
  ['preserve', preserve],
  ['prune', prune],
  ['verify', verify],
]);

/** The handler of `phase` for a batch of `layout`, or null when neither the pipeline nor the layout has it. */
export function phaseHandler(layout: RegisteredLayout, phase: PhaseName): PhaseHandler | null {
  const own = PIPELINE_HANDLERS.get(phase);
  if (own) return own;
  const p = layout.phases.find((x) => x.name === phase);
  if (!p) return null;
  // Large entries of sliceable kinds first, slice jobs side by side (jobs/phases/slices.ts); then the rest in pages.
  if (!p.custom) return async (run) => {
    await settleLargeEntries(run, p.kinds);
    await runEntryPhase(run, p.kinds);
  };
  const h = layout.handlers?.[phase];
  if (!h) throw new Error(`layout ${layout.name}: custom phase ${phase} has no handler`);
  return h;
}
