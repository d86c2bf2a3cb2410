/**
 * Shared fixtures for the Catalyst layout tests: a TransformContext with the real id scheme and the
 * real SecretBox, entry builders, and values built from docs/catalyst-layout.md §2–§3 (constructed there
 * from the app's types, not captured data).
 */
import { randomBytes } from 'node:crypto';
import { SecretBox, type SealedSecret } from '../../core/crypto';
import { rowId } from '../../core/ids';
import type { SourceEntry, TransformContext } from '../../jobs/transforms/types';

export const USER = 'user-1';
export const WEBSITE_ID = 'website_1754981234567_k2j8d9x0q';

export function makeCtx(opts: { global?: boolean; aliases?: Record<string, string>; deterministicSeal?: boolean } = {}) {
  const box = new SecretBox(new Map([['k1', randomBytes(32)]]), 'k1');
  const aliases = opts.aliases ?? {};
  const ctx: TransformContext = {
    userId: USER,
    id: (kind, ...source) => rowId(USER, kind, ...source),
    websiteId: (s) => rowId(USER, 'website', s),
    globalWebsite: opts.global === false ? null : { id: rowId(USER, 'website', WEBSITE_ID), sourceId: WEBSITE_ID, rule: 'the only website in the dump' },
    contentTypeId: (s) => rowId(USER, 'content_type', aliases[s] ?? s),
    // A deterministic stand-in for determinism tests (the real seal uses a random IV).
    seal: opts.deterministicSeal
      ? (plain, aad): SealedSecret => ({ $enc: 'aes-256-gcm', kid: 'test', iv: '', tag: aad, ct: String(plain.length) })
      : (plain, aad) => box.seal(plain, aad),
    assetUrl: (sha) => `https://assets.test/v1/assets/${sha}`,
  };
  return { ctx, box };
}

let seq = 0;
const entry = (e: Omit<SourceEntry, 'seq'>): SourceEntry => ({ seq: ++seq, ...e });
export const ls = (key: string, value: unknown): SourceEntry => entry({ area: 'localStorage', dbName: null, storeName: null, key, value });
export const ss = (key: string, value: unknown): SourceEntry => entry({ area: 'sessionStorage', dbName: null, storeName: null, key, value });
export const idb = (dbName: string, storeName: string, key: unknown, value: unknown): SourceEntry => entry({ area: 'indexedDB', dbName, storeName, key, value });
export const section = (websiteId: string, name: string, value: unknown): SourceEntry => idb(`website_${websiteId}_${name}`, 'data', 'main', value);

/** §3 localStorage["contentTypes"] (one type) */
export const blogPostType = {
  id: '1754981000123_k3j9x2m1q', name: 'BlogPost', pluralName: 'BlogPosts', icon: '📋', description: 'Articles',
  fields: [
    { id: '1754981005555_a8d7f6s5d', name: 'title', label: 'Title', type: 'text', required: true, order: 0, placeholder: 'Enter text...', validation: { maxLength: 120 } },
    { id: '1754981007777_q1w2e3r4t', name: 'heroImage', label: 'Hero', type: 'image', required: false, order: 1, validation: { maxSize: 5242880, allowedTypes: ['image/jpeg', 'image/png', 'image/webp'] } },
    { id: '1754981009999_z9x8c7v6b', name: 'author', label: 'Author', type: 'reference', required: false, order: 2 },
  ],
  relationships: [{ id: '1754981012345_m1n2b3v4c', name: 'author', type: 'manyToOne', sourceContentTypeId: '1754981000123_k3j9x2m1q', targetContentTypeId: '1754981100456_p0o9i8u7y', fieldName: 'author', isRequired: false }],
  createdAt: '2025-08-12T06:56:40.123Z', updatedAt: '2025-08-12T07:01:02.000Z',
};

/** §3 localStorage["content-storage"] */
export const contentStorage = {
  state: {
    contentItems: [{
      id: '1754982000000_r5t6y7u8i', contentTypeId: '1754981000123_k3j9x2m1q',
      data: { title: 'Hello world', heroImage: 'https://images.example.com/hero.jpg', author: '1754981200000_h4g5f6d7s' },
      createdAt: '2025-08-12T07:13:20.000Z', updatedAt: '2025-08-12T07:13:20.000Z',
    }],
    projectId: 'default',
  },
  version: 0,
};

/** §3 preview settings (DEFAULT_PREVIEW_SETTINGS with edits) */
export const previewSettings = { showDeviceFrame: false, showToolbar: true, autoRefresh: true, refreshInterval: 2000, defaultDevice: 'desktop-macbook', zoom: 1, showGrid: true, showRulers: false, highlightInteractive: false };

/** §3 localStorage["cms-provider-configs"]: the secrets every test checks never leak. */
export const CONTENTFUL_KEY = 'CFPAT-xxxxxxxxxxxxxxxx';
export const STRAPI_KEY = 'strapi-token-xxxx';
export const providerConfigs = {
  contentful: { config: { apiKey: CONTENTFUL_KEY, workspace: 'abc123xyz', environment: 'master' }, lastConnected: '2025-08-12T08:00:00.000Z', connectionExpiry: '2025-08-13T08:00:00.000Z' },
  strapi: { config: { endpoint: 'https://cms.example.com', apiKey: STRAPI_KEY } },
};

/** §3 localStorage["deployment-history"] (old shape: no websiteId) */
export const oldJob = {
  id: 'deploy-1754985600000', providerId: 'contentful', status: 'completed', progress: 100,
  startedAt: '2025-08-12T08:00:00.000Z', completedAt: '2025-08-12T08:00:31.412Z', retryCount: 0, maxRetries: 3,
  logs: [
    { timestamp: '2025-08-12T08:00:01.000Z', level: 'info', message: 'Initializing deployment process...' },
    { timestamp: '2025-08-12T08:00:31.412Z', level: 'info', message: 'Deployment completed successfully!' },
  ],
};

/** §3 chat records, as the JSON STRINGS IndexedDB holds (§2.10). */
export const persistedChat = {
  messages: [
    { id: 'msg-abc', role: 'user', content: 'Build a blog', timestamp: '2025-08-12T08:20:00.000Z' },
    { id: 'msg-abd', role: 'assistant', content: 'Sure...', timestamp: '2025-08-12T08:20:03.000Z' },
  ],
  timestamp: '2025-08-12T08:20:04.000Z', version: '1.0.0', metadata: { sessionId: 'default' },
};
export const storageMetadata = { version: '1.0.0', lastSaved: '2025-08-12T08:20:04.000Z', saveCount: 7, strategy: 'IndexedDB' };

/** §3 catalyst_global/websites record, decoded (real Date objects). */
export const websiteMeta = () => ({
  id: WEBSITE_ID, name: 'Coffee Shop', description: 'Create a coffee shop website with online ordering and payments',
  category: 'ecommerce', storageQuota: 104857600, createdAt: new Date('2025-08-12T07:00:34.567Z'), lastModified: new Date('2025-08-12T07:00:35.100Z'),
});
/** §3 ..._config/data: the website id overwritten with 'main'. */
export const websiteConfig = () => ({
  id: 'main',
  settings: { features: ['payments'], techStack: ['React', 'TypeScript', 'Tailwind CSS', 'Next.js', 'Stripe', 'Commerce.js'] },
  theme: { primary: '#10B981', secondary: '#059669', style: 'modern', darkMode: true },
});
/** §3 ..._ai_context/data (history timestamp as a Date, as structured clone keeps it). */
export const aiContext = () => ({
  id: 'main',
  brandIdentity: { name: 'Coffee Shop', tagline: 'Your products, beautifully presented' },
  contentStrategy: { targetAudience: 'general users', topics: ['create', 'coffee', 'shop'], tone: 'persuasive' },
  history: [{
    id: 'ws-me8xk2ab-4f9k2lq', timestamp: new Date('2025-08-12T07:00:34.600Z'), prompt: 'Create a coffee shop website with online ordering and payments',
    response: '{"websiteName":"Coffee Shop"}', context: { type: 'website_creation' },
  }],
});

/** A 1×1 PNG as a data URL, and its bytes. */
export const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
export const PNG_DATA_URL = `data:image/png;base64,${PNG_B64}`;

export const allRows = (r: { rows?: Record<string, unknown[] | undefined> }) => Object.values(r.rows ?? {}).flat();
