import type { PhaseName } from '../names';
import type { EntryKind } from '../transforms/types';

/** Which entry kinds each entry-driven phase consumes. */
export const PHASE_KINDS: Partial<Record<PhaseName, EntryKind[]>> = {
  websites: ['website', 'website-config'],
  contentTypes: ['content-types'],
  contentItems: ['content-items'],
  websiteStorage: ['website-content', 'website-assets'],
  aiData: ['website-ai-context', 'chat', 'ai-prompt'],
  userPreferences: ['preference'],
  deploymentConfigs: ['deployment-configs'],
  deploymentHistory: ['deployment-history'],
};
