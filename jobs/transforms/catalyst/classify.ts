/**
 * Names the kind of each dump entry, from the inventory of docs/catalyst-layout.md §2.1 (keys as the CODE
 * writes them, not as the audit docs spell them) and Appendix A (UI keys of the later app).
 * Anything not listed is 'unknown' and is preserved raw by the pipeline.
 */
import type { CatalystKind } from './kinds';

/** What classify looks at (the layout seam, ../layout.ts, passes exactly this). */
export interface EntryRef { area: string; dbName: string | null; storeName: string | null; key: unknown }

/** Kinds whose raw entries hold secrets (§4: `cms-provider-configs` has plaintext API keys). */
export const SECRET_KINDS: CatalystKind[] = ['deployment-configs'];

export type WebsiteSection = 'config' | 'content' | 'assets' | 'ai_context';

/**
 * I3 (§2.1/§2.11): one DB per website per section, `website_${websiteId}_${section}`. Website ids
 * contain underscores themselves (`website_1754981234567_k2j8d9x0q`), so the section is matched from
 * the RIGHT: `website_website_1754981234567_k2j8d9x0q_ai_context` → id `website_1754981234567_k2j8d9x0q`.
 */
const SECTION_DB = /^website_(.+)_(config|content|assets|ai_context)$/;

export function parseSectionDb(name: unknown): { websiteSourceId: string; section: WebsiteSection } | null {
  if (typeof name !== 'string') return null;
  const m = SECTION_DB.exec(name);
  return m ? { websiteSourceId: m[1], section: m[2] as WebsiteSection } : null;
}

const SECTION_KIND: Record<WebsiteSection, CatalystKind> = {
  config: 'website-config',
  content: 'website-content',
  assets: 'website-assets',
  ai_context: 'website-ai-context',
};

/** §2.10 STORAGE_KEYS; `catalyst:snapshot:` is declared but never written, so it stays 'unknown'. */
export const CHAT_PREFIX = 'catalyst:chat:';
export const METADATA_PREFIX = 'catalyst:metadata:';

/** `catalyst:chat:<id>` / `catalyst:metadata:<id>` → which record and the session id. */
export function parseChatKey(key: unknown): { part: 'chat' | 'metadata'; sessionId: string } | null {
  if (typeof key !== 'string') return null;
  if (key.startsWith(CHAT_PREFIX) && key.length > CHAT_PREFIX.length) return { part: 'chat', sessionId: key.slice(CHAT_PREFIX.length) };
  if (key.startsWith(METADATA_PREFIX) && key.length > METADATA_PREFIX.length) return { part: 'metadata', sessionId: key.slice(METADATA_PREFIX.length) };
  return null;
}

/** S1: `ai_prompt_${websiteId}` in sessionStorage. */
export const AI_PROMPT_PREFIX = 'ai_prompt_';

export function parseAiPromptKey(key: unknown): string | null {
  return typeof key === 'string' && key.startsWith(AI_PROMPT_PREFIX) && key.length > AI_PROMPT_PREFIX.length
    ? key.slice(AI_PROMPT_PREFIX.length)
    : null;
}

const LOCAL_KINDS: Record<string, CatalystKind> = {
  contentTypes: 'content-types', // L1
  'content-storage': 'content-items', // L2
  'cms-provider-configs': 'deployment-configs', // L6
  'deployment-history': 'deployment-history', // L7
};

/** L3, L4, L5, L8 and the Appendix A UI keys; buildPreferences folds them into one user_preferences row. */
export const PREFERENCE_KEYS = [
  'catalyst-navigation-state',
  'preview-settings',
  'previewSettings',
  'project-context',
  'preview-device-type',
  'command-palette-recent',
  'dashboard-density',
  'cms-navbar-search-recent',
  'catalyst-sidebar-collapsed',
  'catalyst:site-builder:panel-pinned',
  'site-builder-tutorial-completed',
  'site-builder-demo-hint-dismissed',
] as const;

const PREFERENCES = new Set<string>(PREFERENCE_KEYS);

export function classify(e: EntryRef): CatalystKind {
  if (e.area === 'indexedDB') {
    if (e.dbName === 'catalyst_global') return e.storeName === 'websites' ? 'website' : 'unknown'; // settings/version: never written
    if (e.dbName === 'catalyst-studio') return e.storeName === 'persistence' && parseChatKey(e.key) ? 'chat' : 'unknown'; // I1
    const section = parseSectionDb(e.dbName);
    if (section && e.storeName === 'data') return SECTION_KIND[section.section];
    return 'unknown'; // legacy catalyst_studio / catalyst_data and anything else
  }
  // L12/S2: the LocalStorage and SessionStorage strategies of storage-service.ts use the same keys.
  if (parseChatKey(e.key)) return 'chat';
  if (typeof e.key !== 'string') return 'unknown';
  if (e.area === 'sessionStorage') return parseAiPromptKey(e.key) ? 'ai-prompt' : 'unknown';
  if (e.area === 'localStorage') {
    if (Object.hasOwn(LOCAL_KINDS, e.key)) return LOCAL_KINDS[e.key];
    if (PREFERENCES.has(e.key)) return 'preference';
  }
  // L9/L10 migration bookkeeping, L11 legacy keys, featureFlags, sitemapComments, ... are kept raw.
  return 'unknown';
}
