/** The phase registry: one handler per phase name, in PHASES order. */
import type { PhaseName } from '../names';
import type { PhaseHandler } from './context';
import { runEntryPhase } from './entryPhase';
import { ingest } from './ingest';
import { PHASE_KINDS } from './kinds';
import { preserve } from './preserve';
import { prune } from './prune';
import { verify } from './verify';
import { websites } from './websites';

const entryPhase = (name: PhaseName): PhaseHandler => (run) => runEntryPhase(run, PHASE_KINDS[name]!);

export const PHASE_HANDLERS: Record<PhaseName, PhaseHandler> = {
  ingest,
  websites,
  contentTypes: entryPhase('contentTypes'),
  contentItems: entryPhase('contentItems'),
  websiteStorage: entryPhase('websiteStorage'),
  aiData: entryPhase('aiData'),
  userPreferences: entryPhase('userPreferences'),
  deploymentConfigs: entryPhase('deploymentConfigs'),
  deploymentHistory: entryPhase('deploymentHistory'),
  preserve,
  prune,
  verify,
};
