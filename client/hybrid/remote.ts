/**
 * The data API in the app's terms: every value going out is built from the app's shape, every value
 * coming back is turned into it (`id` = the browser id, server-only fields dropped), so the browser copy
 * written from API answers is the same JSON the app itself writes.
 *
 * Content types and items live under `/v1/websites/:websiteId/…` of the website the snapshot attached
 * global data to (`globalWebsite` of `GET /v1/cutover`); preferences are the user's `/v1/preferences`.
 */
import type { CollectionName, PreferenceSection } from './catalyst';
import type { Api } from './http';
import { mergeDiff } from './pure';
import type { ResourceName } from './types';

type Obj = Record<string, unknown>;

export interface Versioned {
  /** App shape; null when the server has none. */
  value: unknown;
  etag: string | null;
}

const ITEM_FIELDS = ['contentTypeId', 'data', 'createdAt', 'updatedAt'];
// The data API's content-type body is strict: only what the app's ContentType declares (§2.2).
const TYPE_FIELDS = ['name', 'pluralName', 'icon', 'description', 'fields', 'relationships', 'createdAt', 'updatedAt'];

function pick(v: Obj, keys: string[]): Obj {
  const out: Obj = {};
  for (const k of keys) if (v[k] !== undefined && v[k] !== null) out[k] = v[k];
  return out;
}

/** Server answer → the app's ContentItem / ContentType. */
export function toApp(resource: CollectionName, s: Obj): Obj {
  if (resource === 'contentItems') return { id: s.sourceId, contentTypeId: s.contentTypeId, data: s.data, createdAt: s.createdAt, updatedAt: s.updatedAt };
  const { id: _server, sourceId, websiteId: _w, slug: _s, ...rest } = s;
  return { id: sourceId, ...rest };
}

export class Remote {
  constructor(private readonly api: Api, private readonly website: () => string) {}

  private path(resource: CollectionName, id?: string): string {
    const seg = resource === 'contentItems' ? 'content-items' : 'content-types';
    const base = `/v1/websites/${encodeURIComponent(this.website())}/${seg}`;
    return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
  }

  /** The whole collection, every page. */
  async list(resource: CollectionName): Promise<Obj[]> {
    if (resource === 'contentTypes') {
      const r = await this.api.request<Obj[]>('GET', this.path(resource));
      return r.body.map((s) => toApp(resource, s));
    }
    const out: Obj[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await this.api.request<{ items: Obj[]; nextCursor: string | null }>('GET', this.path(resource) + q);
      out.push(...r.body.items.map((s) => toApp(resource, s)));
      cursor = r.body.nextCursor;
    } while (cursor);
    return out;
  }

  /** One resource as the server holds it now; value null on 404. */
  async get(resource: ResourceName, id: string): Promise<Versioned> {
    try {
      if (resource === 'preferences') {
        const r = await this.prefs();
        return { value: r.doc[id] ?? null, etag: r.etag };
      }
      const r = await this.api.request<Obj>('GET', this.path(resource, id));
      return { value: toApp(resource, r.body), etag: r.etag };
    } catch (err) {
      if ((err as { kind?: string }).kind === 'not_found') return { value: null, etag: null };
      throw err;
    }
  }

  async prefs(): Promise<{ doc: Obj; etag: string | null }> {
    const r = await this.api.request<{ preferences: Obj }>('GET', '/v1/preferences');
    return { doc: r.body.preferences ?? {}, etag: r.etag };
  }

  /** Replace (or create, when `create` or the server has no such item yet) a collection item. */
  async put(resource: CollectionName, id: string, value: Obj, ifMatch: string | null, create: boolean): Promise<Versioned> {
    const body = pick(value, resource === 'contentItems' ? ITEM_FIELDS : TYPE_FIELDS);
    if (create) {
      try {
        const r = await this.api.request<Obj>('POST', this.path(resource), { body: { sourceId: id, ...body } });
        return { value: toApp(resource, r.body), etag: r.etag };
      } catch (err) {
        if ((err as { kind?: string }).kind !== 'exists') throw err; // created already (a replay): replace it
      }
    }
    try {
      const r = await this.api.request<Obj>('PUT', this.path(resource, id), { body, ifMatch });
      return { value: toApp(resource, r.body), etag: r.etag };
    } catch (err) {
      if ((err as { kind?: string }).kind !== 'not_found' || ifMatch) throw err;
      return this.put(resource, id, value, null, true); // gone or never created: create it
    }
  }

  async remove(resource: CollectionName, id: string, ifMatch: string | null): Promise<void> {
    try {
      await this.api.request('DELETE', this.path(resource, id), { ifMatch });
    } catch (err) {
      if ((err as { kind?: string }).kind !== 'not_found') throw err; // already gone: the same outcome
    }
  }

  /**
   * Sets one preference section (null: removes it) with a merge patch from `current` (the document the
   * caller just read under `ifMatch`). The app writes both preview keys alike, so an alternate preview
   * the migration kept is dropped once the section is written.
   */
  async setPreference(section: PreferenceSection, value: Obj | null, current: Obj, ifMatch: string | null): Promise<Versioned> {
    const patch: Obj = { [section]: value === null ? null : mergeDiff(current[section] ?? {}, value) };
    if (section === 'preview' && current.previewAlt !== undefined) patch.previewAlt = null;
    const r = await this.api.request<{ preferences: Obj }>('PATCH', '/v1/preferences', { body: patch, ifMatch, contentType: 'application/merge-patch+json' });
    return { value: r.body.preferences?.[section] ?? null, etag: r.etag };
  }
}
