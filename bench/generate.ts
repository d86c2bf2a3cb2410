/**
 * Writes a Catalyst-like NDJSON dump (§1b) of about `targetBytes` to disk, streaming, with its SHA-256.
 * Shaped like the app's storage (docs/catalyst-layout.md, as in test/fixtures/catalystDump.ts), repeated per
 * website so that no single entry is large: per website its `websites` record, the four section DBs
 * (config; content with pages, components, a template; assets; AI context with history), a chat session
 * and its metadata, an AI prompt in sessionStorage, and unknown analytics records (preserved raw).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface GeneratedDump {
  bytes: number;
  entries: number;
  websites: number;
  sha256: string;
  largestEntry: number;
}

const WORDS = 'coffee shop menu order latte espresso bean roast fresh daily blend brew cup morning delivery pickup online payment local organic house special seasonal pastry croissant muffin tea matcha cold drip pour over community event music open hours weekend'.split(' ');
const PAGES_PER_SITE = 20;
const MESSAGES_PER_CHAT = 40;
const UNKNOWN_PER_SITE = 10;

/** A small deterministic generator: the same size gives the same dump. */
function words(seed: number, count: number): string {
  let x = seed >>> 0 || 1;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.push(WORDS[(x >>> 0) % WORDS.length]);
  }
  return out.join(' ');
}

const date = (ms: number) => ({ $t: 'Date', v: new Date(ms).toISOString() });
const idb = (db: string, store: string, keyPath: string | null, key: unknown, value: unknown) => ({ area: 'indexedDB', db, dbVersion: 1, store, keyPath, key, value });

function siteEntries(i: number): unknown[] {
  const t0 = 1754981234567 + i * 60_000;
  const w = `website_${t0}_${(i * 2654435761 >>> 0).toString(36).padStart(7, '0')}`;
  const section = (name: string, value: Record<string, unknown>) => idb(`website_${w}_${name}`, 'data', 'id', 'main', { ...value, id: 'main' });
  const pages = Array.from({ length: PAGES_PER_SITE }, (_, p) => ({
    id: `page-${p}`, title: `Page ${p} ${words(i * 31 + p, 3)}`, slug: `page-${p}`,
    content: `<h1>${words(i + p, 6)}</h1><p>${words(i * 7 + p, 220)}</p>`, createdAt: date(t0 + p), updatedAt: date(t0 + p + 1000),
  }));
  const chat = {
    messages: Array.from({ length: MESSAGES_PER_CHAT }, (_, m) => ({
      id: `msg-${i}-${m}`, role: m % 2 ? 'assistant' : 'user', content: words(i * 13 + m, 55), timestamp: new Date(t0 + m * 1000).toISOString(),
    })),
    timestamp: new Date(t0 + 60_000).toISOString(), version: '1.0.0', metadata: { sessionId: w },
  };
  return [
    idb('catalyst_global', 'websites', 'id', w, {
      id: w, name: `Site ${i}`, description: words(i, 12), category: 'ecommerce', storageQuota: 104857600, createdAt: date(t0), lastModified: date(t0 + 5000),
    }),
    section('config', { settings: { features: ['payments'], techStack: ['React', 'TypeScript'] }, theme: { primary: '#10B981', secondary: '#059669', style: 'modern', darkMode: i % 2 === 0 } }),
    section('content', {
      pages,
      components: Array.from({ length: 3 }, (_, c) => ({ id: `cmp-${c}`, name: `Block ${c}`, type: 'section', props: { text: words(i + c, 20) }, children: [] })),
      templates: [{ id: 'tpl-1', name: 'Default', description: words(i, 8), structure: { header: true, footer: true }, variables: [] }],
    }),
    section('assets', { images: [`https://images.example.com/${i}/logo.png`, `https://images.example.com/${i}/hero.jpg`], videos: [], documents: [] }),
    section('ai_context', {
      brandIdentity: { name: `Site ${i}`, tagline: words(i, 6) }, contentStrategy: { targetAudience: 'general users', topics: ['coffee'], tone: 'friendly' },
      history: Array.from({ length: 10 }, (_, h) => ({ id: `ws-${i}-${h}`, timestamp: date(t0 + h), prompt: words(i + h, 25), response: words(i * 3 + h, 40), context: { type: 'edit' } })),
    }),
    idb('catalyst-studio', 'persistence', null, `catalyst:chat:${w}`, JSON.stringify(chat)),
    idb('catalyst-studio', 'persistence', null, `catalyst:metadata:${w}`, JSON.stringify({ version: '1.0.0', lastSaved: chat.timestamp, saveCount: 3, strategy: 'IndexedDB' })),
    { area: 'sessionStorage', key: `ai_prompt_${w}`, value: JSON.stringify({ original: words(i, 20), processed: { websiteName: `Site ${i}`, category: 'ecommerce' }, timestamp: t0 }) },
    ...Array.from({ length: UNKNOWN_PER_SITE }, (_, u) => idb('analytics', 'events', null, `${w}:${u}`, { type: 'view', at: date(t0 + u), payload: words(i * 17 + u, 600) })),
  ];
}

export async function generateCatalystDump(file: string, targetBytes: number): Promise<GeneratedDump> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const hash = createHash('sha256');
  let bytes = 0;
  let entries = 0;
  let largestEntry = 0;
  let pending: string[] = [];
  let pendingLen = 0;
  const write = async (line: string, isEntry: boolean) => {
    if (isEntry) {
      entries++;
      largestEntry = Math.max(largestEntry, Buffer.byteLength(line));
    }
    pending.push(line);
    pendingLen += line.length;
    if (pendingLen >= 1 << 20) await flush();
  };
  const flush = async () => {
    const buf = Buffer.from(pending.join(''));
    pending = [];
    pendingLen = 0;
    hash.update(buf);
    bytes += buf.length;
    if (!out.write(buf)) await once(out, 'drain');
  };
  await write(`${JSON.stringify({ format: 'browser-storage-dump', version: 1, source: { app: 'catalyst-studio', origin: 'http://localhost:3000', userAgent: 'bench', capturedAt: new Date().toISOString() } })}\n`, false);
  await write(`${JSON.stringify({ area: 'localStorage', key: 'preview-settings', value: JSON.stringify({ zoom: 1, showGrid: true }) })}\n`, true);
  let websites = 0;
  while (bytes + pendingLen < targetBytes) {
    for (const e of siteEntries(websites)) await write(`${JSON.stringify(e)}\n`, true);
    websites++;
  }
  await write(`${JSON.stringify({ end: true, entries })}\n`, false);
  await flush();
  out.end();
  await once(out, 'finish');
  return { bytes, entries, websites, sha256: hash.digest('hex'), largestEntry };
}

export interface ItemsDump extends GeneratedDump {
  items: number;
  contentTypes: number;
  /** Bytes of the `content-storage` entry's value (the JSON string holding the items). */
  itemsValueBytes: number;
}

const ITEM_TYPES = 20;
const itemTypeId = (t: number) => `17549810${String(t).padStart(5, '0')}_type${t}`;

/** Content item `i` as the app stores it in `content-storage` (~500 B of JSON). */
export function benchItem(i: number): { id: string; contentTypeId: string; data: Record<string, unknown>; createdAt: string; updatedAt: string } {
  const t0 = Date.UTC(2025, 7, 12) + i * 1000;
  return {
    id: `1754982${String(i).padStart(6, '0')}_item${i}`,
    contentTypeId: itemTypeId(i % ITEM_TYPES),
    data: { title: `Item ${i} ${words(i, 4)}`, body: words(i * 7 + 1, 42), price: (i % 997) / 10, tags: [words(i, 1), words(i + 1, 1)], published: i % 3 === 0 },
    createdAt: new Date(t0).toISOString(),
    updatedAt: new Date(t0 + 60_000).toISOString(),
  };
}

/**
 * The Fast issue's dump (issue 12): a Catalyst dump whose `content-storage` localStorage entry holds `items`
 * content items (~500 B each) in ONE JSON string — the app's real shape, one huge value — plus every other
 * kind once: the content types, one website with its four sections, chat and metadata, an AI prompt, the
 * localStorage settings (preview, navigation, CMS configs with secrets, deployment history, project
 * context, migration version) and unknown records.
 */
export async function generateItemsDump(file: string, items: number): Promise<ItemsDump> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const hash = createHash('sha256');
  let bytes = 0;
  let entries = 0;
  let largestEntry = 0;
  const write = async (line: string, isEntry: boolean) => {
    const buf = Buffer.from(line);
    if (isEntry) {
      entries++;
      largestEntry = Math.max(largestEntry, buf.length);
    }
    hash.update(buf);
    bytes += buf.length;
    if (!out.write(buf)) await once(out, 'drain');
  };
  const ls = (key: string, value: unknown) => write(`${JSON.stringify({ area: 'localStorage', key, value: JSON.stringify(value) })}\n`, true);
  await write(`${JSON.stringify({ format: 'browser-storage-dump', version: 1, source: { app: 'catalyst-studio', origin: 'http://localhost:3000', userAgent: 'bench', capturedAt: new Date().toISOString() } })}\n`, false);
  const types = Array.from({ length: ITEM_TYPES }, (_, t) => ({
    id: itemTypeId(t), name: `Type${t}`, pluralName: `Type${t}s`, icon: '📋', description: words(t, 5),
    fields: [
      { id: `f-${t}-1`, name: 'title', label: 'Title', type: 'text', required: true, order: 0 },
      { id: `f-${t}-2`, name: 'body', label: 'Body', type: 'richText', required: false, order: 1 },
      { id: `f-${t}-3`, name: 'price', label: 'Price', type: 'number', required: false, order: 2 },
    ],
    relationships: [], createdAt: '2025-08-12T06:56:40.123Z', updatedAt: '2025-08-12T07:01:02.000Z',
  }));
  await ls('contentTypes', types);
  // The items value is built as one string in pieces (a 200k-item array would be ~100 MB of JSON): the
  // NDJSON line is {"area":"localStorage","key":"content-storage","value":"<JSON text, escaped>"}.
  const inner: string[] = ['{"state":{"contentItems":['];
  for (let i = 0; i < items; i++) inner.push(`${i ? ',' : ''}${JSON.stringify(benchItem(i))}`);
  inner.push('],"projectId":"default"},"version":0}');
  const value = inner.join('');
  const itemsValueBytes = Buffer.byteLength(value);
  await write(`{"area":"localStorage","key":"content-storage","value":${JSON.stringify(value)}}\n`, true);
  const preview = { showDeviceFrame: false, showToolbar: true, autoRefresh: true, refreshInterval: 2000, defaultDevice: 'desktop-macbook', zoom: 1, showGrid: true };
  await ls('preview-settings', preview);
  await ls('catalyst-navigation-state', { expandedSections: ['content'], activeView: 'content', searchQuery: '', lastVisited: { overview: '/overview' } });
  await ls('cms-provider-configs', { contentful: { config: { apiKey: 'CFPAT-bench-secret', workspace: 'abc', environment: 'master' }, lastConnected: '2025-08-12T08:00:00.000Z' } });
  await ls('deployment-history', [{ id: 'deploy-1', providerId: 'contentful', status: 'completed', progress: 100, startedAt: '2025-08-12T08:00:00.000Z', completedAt: '2025-08-12T08:00:31.412Z', retryCount: 0, maxRetries: 3, logs: [] }]);
  await ls('project-context', { currentStage: 'planning', projectName: 'Bench', conversationMetadata: { topicHistory: ['menu'], currentIntent: 'create', lastActivity: '2025-08-12T08:10:00.000Z', messageCount: 4 } });
  await ls('catalyst_migration_version', '2.0.0');
  for (const e of siteEntries(0)) await write(`${JSON.stringify(e)}\n`, true);
  await write(`${JSON.stringify({ end: true, entries })}\n`, false);
  out.end();
  await once(out, 'finish');
  return { bytes, entries, websites: 1, sha256: hash.digest('hex'), largestEntry, items, contentTypes: ITEM_TYPES, itemsValueBytes };
}
