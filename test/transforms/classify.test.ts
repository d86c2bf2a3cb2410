import { classify, parseSectionDb, SECRET_KINDS } from '../../jobs/transforms/catalyst';

const local = (key: string) => ({ area: 'localStorage', dbName: null, storeName: null, key });
const session = (key: string) => ({ area: 'sessionStorage', dbName: null, storeName: null, key });
const idb = (dbName: string, storeName: string, key: unknown = 'main') => ({ area: 'indexedDB', dbName, storeName, key });

describe('parseSectionDb', () => {
  test('matches the section from the right: website ids contain underscores (§2.1)', () => {
    expect(parseSectionDb('website_website_1754981234567_k2j8d9x0q_ai_context')).toEqual({ websiteSourceId: 'website_1754981234567_k2j8d9x0q', section: 'ai_context' });
    expect(parseSectionDb('website_website_1754981234567_k2j8d9x0q_config')).toEqual({ websiteSourceId: 'website_1754981234567_k2j8d9x0q', section: 'config' });
    expect(parseSectionDb('website_my_ai_content')).toEqual({ websiteSourceId: 'my_ai', section: 'content' });
    expect(parseSectionDb('website_default_assets')).toEqual({ websiteSourceId: 'default', section: 'assets' });
  });
  test('rejects other names', () => {
    for (const n of ['website__config', 'website_x_context', 'catalyst_global', 'website_x_config_backup', null]) expect(parseSectionDb(n)).toBeNull();
  });
});

describe('classify (docs/catalyst-layout.md §2.1, Appendix A)', () => {
  test('IndexedDB', () => {
    expect(classify(idb('catalyst_global', 'websites', 'website_1'))).toBe('website');
    expect(classify(idb('catalyst_global', 'settings', 'theme'))).toBe('unknown');
    expect(classify(idb('catalyst_global', 'version', 'v'))).toBe('unknown');
    expect(classify(idb('website_website_1754981234567_k2j8d9x0q_config', 'data'))).toBe('website-config');
    expect(classify(idb('website_website_1754981234567_k2j8d9x0q_content', 'data'))).toBe('website-content');
    expect(classify(idb('website_website_1754981234567_k2j8d9x0q_assets', 'data'))).toBe('website-assets');
    expect(classify(idb('website_website_1754981234567_k2j8d9x0q_ai_context', 'data'))).toBe('website-ai-context');
    expect(classify(idb('website_default_config', 'data'))).toBe('website-config');
    expect(classify(idb('website_x_config', 'other'))).toBe('unknown');
    expect(classify(idb('catalyst-studio', 'persistence', 'catalyst:chat:default'))).toBe('chat');
    expect(classify(idb('catalyst-studio', 'persistence', 'catalyst:metadata:default'))).toBe('chat');
    expect(classify(idb('catalyst-studio', 'persistence', 'catalyst:snapshot:default:1'))).toBe('unknown');
    expect(classify(idb('catalyst_studio', 'anything', 'k'))).toBe('unknown'); // legacy DB
    expect(classify(idb('catalyst_data', 'anything', 1))).toBe('unknown');
  });

  test('localStorage', () => {
    expect(classify(local('contentTypes'))).toBe('content-types');
    expect(classify(local('content-storage'))).toBe('content-items');
    expect(classify(local('cms-provider-configs'))).toBe('deployment-configs');
    expect(classify(local('deployment-history'))).toBe('deployment-history');
    for (const k of ['catalyst-navigation-state', 'preview-settings', 'previewSettings', 'project-context', 'preview-device-type', 'command-palette-recent',
      'dashboard-density', 'cms-navbar-search-recent', 'catalyst-sidebar-collapsed', 'catalyst:site-builder:panel-pinned',
      'site-builder-tutorial-completed', 'site-builder-demo-hint-dismissed']) {
      expect([k, classify(local(k))]).toEqual([k, 'preference']);
    }
    for (const k of ['catalyst_migration_version', 'catalyst_migration_date', 'catalyst_backup_before_migration', 'sitemapComments', 'featureFlags',
      'featureFlagsMigrated', 'catalyst_brand_identity', 'navigation-state', 'deployment_history', 'ai_prompt_website_1', 'globalSections']) {
      expect([k, classify(local(k))]).toEqual([k, 'unknown']);
    }
  });

  test('chat fallbacks in localStorage and sessionStorage (L12/S2)', () => {
    expect(classify(local('catalyst:chat:default'))).toBe('chat');
    expect(classify(session('catalyst:metadata:default'))).toBe('chat');
    expect(classify(local('catalyst:chat:'))).toBe('unknown');
  });

  test('sessionStorage', () => {
    expect(classify(session('ai_prompt_website_1754981234567_k2j8d9x0q'))).toBe('ai-prompt');
    expect(classify(session('contentTypes'))).toBe('unknown');
    expect(classify(session('dashboard_pending_prompt'))).toBe('unknown');
  });

  test('secret kinds', () => {
    expect(SECRET_KINDS).toEqual(['deployment-configs']);
  });
});
