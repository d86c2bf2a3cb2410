/**
 * Catalyst Studio's kinds, tables and phases: everything the pipeline needs to know about this layout
 * beyond its transforms (../layout.ts). Names and order are the pipeline's since the beginning; ids and
 * job ids already written depend on them.
 */
import type { LayoutPhase } from '../layout';

/** Which phase owns an entry. Kinds the layout does not map are 'unknown' and are preserved raw. */
export type CatalystKind =
  | 'website' // catalyst_global/websites record
  | 'website-config' // website_<id>_config/data
  | 'website-content' // website_<id>_content/data
  | 'website-assets' // website_<id>_assets/data
  | 'website-ai-context' // website_<id>_ai_context/data
  | 'content-types' // localStorage contentTypes
  | 'content-items' // localStorage content-storage
  | 'chat' // catalyst:chat:* / catalyst:metadata:* (IndexedDB persistence, or storage fallbacks)
  | 'ai-prompt' // sessionStorage ai_prompt_<websiteId>
  | 'preference' // navigation, preview settings, project-context, UI keys
  | 'deployment-configs' // cms-provider-configs (holds secrets)
  | 'deployment-history' // deployment-history
  | 'unknown';

export const CATALYST_KINDS: readonly CatalystKind[] = [
  'website', 'website-config', 'website-content', 'website-assets', 'website-ai-context', 'content-types', 'content-items',
  'chat', 'ai-prompt', 'preference', 'deployment-configs', 'deployment-history', 'unknown',
];

/** The tables Catalyst's rows go to (see entities/), parents first, so foreign keys hold at each statement. */
export const CATALYST_TABLES = [
  'websites', 'content_types', 'content_items', 'website_pages', 'website_components', 'website_templates', 'website_assets',
  'ai_contexts', 'ai_history_entries', 'chat_sessions', 'chat_messages', 'ai_prompts', 'user_preferences',
  'deployment_configs', 'deployment_history',
] as const;
export type CatalystTable = (typeof CATALYST_TABLES)[number];

/**
 * Phases in dependency order: websites → content types → content items; website storage and AI data need
 * websites; user preferences need nothing; deployment configs need the global website, deployment history
 * its configs. `websites` is custom: after its entries it creates websites for orphan section databases and
 * chooses where global data goes (jobs/phases/catalyst/websites.ts). Phases that need nothing of each other
 * run side by side (`after`; jobs/pipeline.ts).
 */
export const CATALYST_PHASES: readonly LayoutPhase[] = [
  { name: 'websites', kinds: ['website', 'website-config'], custom: true, after: [] },
  { name: 'contentTypes', kinds: ['content-types'], after: ['websites'] },
  { name: 'contentItems', kinds: ['content-items'], after: ['contentTypes'] },
  { name: 'websiteStorage', kinds: ['website-content', 'website-assets'], after: ['websites'] },
  { name: 'aiData', kinds: ['website-ai-context', 'chat', 'ai-prompt'], after: ['websites'] },
  { name: 'userPreferences', kinds: ['preference'], after: [] },
  { name: 'deploymentConfigs', kinds: ['deployment-configs'], after: ['websites'] },
  { name: 'deploymentHistory', kinds: ['deployment-history'], after: ['websites', 'deploymentConfigs'] },
];

/** Kinds whose rows go to the website the websites phase chooses for global data. */
export const GLOBAL_KINDS: readonly CatalystKind[] = ['content-types', 'content-items', 'deployment-configs', 'deployment-history'];
/** Kinds of the per-website section databases (a website row is made for them if none is in the dump). */
export const SECTION_KINDS: readonly CatalystKind[] = ['website-content', 'website-assets', 'website-ai-context'];
