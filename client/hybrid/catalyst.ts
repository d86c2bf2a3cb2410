/**
 * The browser copy: Catalyst Studio's own localStorage keys and JSON shapes (docs/catalyst-layout.md §2.2–§2.5,
 * §2.8), read and written exactly as the app does, so that in browser mode the app (and any of its code
 * not yet moved to this client) sees no difference, and after a rollback the copy is the app's data as
 * the app would have left it.
 *
 *  - `contentTypes`: a JSON array of ContentType (compact JSON.stringify).
 *  - `content-storage`: Zustand persist's envelope `{state:{contentItems, projectId}, version:0}`; other
 *    state fields and the version already there are kept, new items are appended (as the store does).
 *  - `catalyst-navigation-state`: NavigationState.
 *  - `preview-settings` and `previewSettings`: the same PreviewSettings, both written (the app writes
 *    both; it reads `preview-settings`).
 *  - `project-context`: ProjectContextState, pretty-printed (`JSON.stringify(ctx, null, 2)`) as the hook did.
 */

export interface ContentItem {
  id: string;
  contentTypeId: string;
  data: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  [k: string]: unknown;
}

export interface ContentType {
  id: string;
  name: string;
  fields?: unknown[];
  relationships?: unknown[];
  [k: string]: unknown;
}

export type CollectionName = 'contentItems' | 'contentTypes';
export type PreferenceSection = 'navigation' | 'preview' | 'projectContext';
export const PREFERENCE_SECTIONS: PreferenceSection[] = ['navigation', 'preview', 'projectContext'];

export const CATALYST_KEYS = {
  contentTypes: 'contentTypes',
  contentItems: 'content-storage',
  navigation: 'catalyst-navigation-state',
  preview: 'preview-settings',
  previewAlt: 'previewSettings',
  projectContext: 'project-context',
} as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function storage(): Storage {
  return globalThis.localStorage;
}

function parse(key: string): unknown {
  const raw = storage().getItem(key);
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined; // the app treats unreadable JSON as absent (its loaders catch and use defaults)
  }
}

/** The Zustand envelope as stored, or a fresh one as the store would first persist it. */
function envelope(): { state: Obj; version: unknown } & Obj {
  const v = parse(CATALYST_KEYS.contentItems);
  if (isObj(v) && isObj(v.state)) return v as { state: Obj; version: unknown } & Obj;
  return { state: { contentItems: [], projectId: 'default' }, version: 0 };
}

export function readCollection(name: 'contentItems'): ContentItem[];
export function readCollection(name: 'contentTypes'): ContentType[];
export function readCollection(name: CollectionName): Array<{ id: string }>;
export function readCollection(name: CollectionName): Array<{ id: string }> {
  if (name === 'contentTypes') {
    const v = parse(CATALYST_KEYS.contentTypes);
    return Array.isArray(v) ? (v as ContentType[]) : [];
  }
  const items = envelope().state.contentItems;
  return Array.isArray(items) ? (items as ContentItem[]) : [];
}

/** Replaces the whole collection, in the app's own format. */
export function writeCollection(name: CollectionName, list: Array<{ id: string }>): void {
  if (name === 'contentTypes') {
    storage().setItem(CATALYST_KEYS.contentTypes, JSON.stringify(list));
    return;
  }
  const env = envelope();
  storage().setItem(CATALYST_KEYS.contentItems, JSON.stringify({ ...env, state: { ...env.state, contentItems: list } }));
}

/** Upsert by id (in place; appended when new) or removal (`value` null), as the app's stores do. */
export function applyToList<T extends { id: string }>(list: T[], id: string, value: T | null): T[] {
  const at = list.findIndex((x) => x.id === id);
  if (value === null) return at < 0 ? list : [...list.slice(0, at), ...list.slice(at + 1)];
  if (at < 0) return [...list, value];
  const out = list.slice();
  out[at] = value;
  return out;
}

export function writeOne(name: CollectionName, id: string, value: { id: string } | null): void {
  writeCollection(name, applyToList(readCollection(name), id, value));
}

export function readPreference(section: PreferenceSection): Obj | null {
  if (section === 'preview') {
    const v = parse(CATALYST_KEYS.preview) ?? parse(CATALYST_KEYS.previewAlt);
    return isObj(v) ? v : null;
  }
  const v = parse(CATALYST_KEYS[section]);
  return isObj(v) ? v : null;
}

export function writePreference(section: PreferenceSection, value: Obj | null): void {
  const s = storage();
  const keys = section === 'preview' ? [CATALYST_KEYS.preview, CATALYST_KEYS.previewAlt] : [CATALYST_KEYS[section]];
  for (const key of keys) {
    if (value === null) s.removeItem(key);
    else s.setItem(key, section === 'projectContext' ? JSON.stringify(value, null, 2) : JSON.stringify(value));
  }
}

/** One resource of the browser copy: a collection item (by id) or a preference section. */
export function writeLocal(resource: CollectionName | 'preferences', id: string, value: unknown): void {
  if (resource === 'preferences') writePreference(id as PreferenceSection, value as Obj | null);
  else writeOne(resource, id, value as { id: string } | null);
}

export function readLocal(resource: CollectionName | 'preferences', id: string): unknown {
  if (resource === 'preferences') return readPreference(id as PreferenceSection);
  return readCollection(resource).find((x) => x.id === id) ?? null;
}
