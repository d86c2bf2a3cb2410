/**
 * localStorage `content-storage` (L2, docs/catalyst-layout.md §2.3): Zustand's persist envelope
 * `{state:{contentItems, projectId}, version:0}` → `content_items` rows on the global website.
 * A bare `ContentItem[]` (the `LegacyContentItem[]` shape of scripts/migrate-content-items.ts, §6) is
 * accepted too and noted.
 *
 * `data` is kept verbatim, with ONE exception: inline `data:` URLs (base64 images, §5) move to blobs
 * (dataUrls.ts). Reference fields hold content-ITEM source ids, but an item does not say which of its
 * fields are references (that lives in its content type), so no value is remapped and nothing is added.
 * `contentTypeId` is remapped with `ctx.contentTypeId`, which applies the dedupe-by-name aliases.
 */
import { outlineJson, type JsonOutline } from '../../../format/jsonOutline';
import type { SlicedTransform } from '../layout';
import type { ElementReject, Row, SourceEntry, TransformContext, TransformResult } from '../types';
import { BlobCollector } from './dataUrls';
import { requireDate } from './dates';
import { type Obj, finish, isRecord, parseJson, rejected, row } from './util';

const BARE_SHAPE = 'bare array (pre-Zustand / LegacyContentItem[]), accepted';

/** The item list and where it was found, or a reason the value has no recognisable shape. */
function unwrap(value: unknown): { items: unknown[]; base: string; notes: Obj } | { error: string } {
  if (Array.isArray(value)) {
    return { items: value, base: '', notes: { contentItemsShape: BARE_SHAPE } };
  }
  if (isRecord(value) && isRecord(value.state) && Array.isArray(value.state.contentItems)) {
    const notes: Obj = {};
    if (value.version !== 0 && value.version !== undefined) notes.contentStorageVersion = value.version; // only 0 is known (§2.3)
    if (value.state.projectId !== undefined && value.state.projectId !== 'default') notes.contentStorageProjectId = value.state.projectId;
    return { items: value.state.contentItems, base: 'state.contentItems', notes };
  }
  return { error: 'content-storage is neither {state:{contentItems:[...]}, version} nor an array (docs/catalyst-layout.md §2.3)' };
}

/** The item list of a `content-storage` value, or null with nothing to slice (the whole transform says why). */
function split(entry: SourceEntry, ctx: TransformContext): { elements: unknown[]; path: string; notes: Obj } | null {
  const parsed = parseJson(entry.value);
  if (!parsed.ok) return null;
  const found = unwrap(parsed.value);
  if ('error' in found || !ctx.globalWebsite) return null;
  return { elements: found.items, path: found.base, notes: found.notes };
}

/** Where splitText looks: the envelope's members unwrap reads, and the two places an item list can be. */
const OUTLINE = {
  values: [['version'], ['state', 'projectId']],
  lists: [[], ['state', 'contentItems']],
  key: 'id',
};

/**
 * split's answer read from the value's text (SlicedTransform.splitText): the same list, path and notes,
 * unwrap's checks made on the outline; undefined when the outline declines (split decides).
 */
function splitText(text: string, ctx: TransformContext): ReturnType<NonNullable<SlicedTransform['splitText']>> {
  const o = outlineJson(text, OUTLINE);
  if (!o) return undefined;
  if (!ctx.globalWebsite) return null;
  const bare = o.list([]);
  if (bare) return { list: bare, path: '', notes: { contentItemsShape: BARE_SHAPE } };
  const items = o.list(['state', 'contentItems']); // only found through objects: the root and state are objects
  if (!items) return null;
  const member = (path: string[]) => valueOf(o, text, path);
  const notes: Obj = {};
  const version = member(['version']);
  if (version !== 0 && version !== undefined) notes.contentStorageVersion = version;
  const projectId = member(['state', 'projectId']);
  if (projectId !== undefined && projectId !== 'default') notes.contentStorageProjectId = projectId;
  return { list: items, path: 'state.contentItems', notes };
}

/** The value at `path` of an outlined text (parsed: it is small), or undefined. */
function valueOf(o: JsonOutline, text: string, path: string[]): unknown {
  const at = o.value(path);
  return at && JSON.parse(text.slice(at.start, at.end));
}

/** Rows and rejects of some items (`index`: the item's position in the whole list; ascending). */
function mapItems(items: { index: number; element: unknown }[], base: string, ctx: TransformContext): TransformResult {
  const websiteId = ctx.globalWebsite!.id;
  const rejects: ElementReject[] = [];
  const blobs = new BlobCollector(ctx);
  const seen = new Set<string>();
  const rows: Row[] = [];
  for (const { index: i, element: src } of items) {
    const path = `${base}[${i}]`;
    if (!isRecord(src)) {
      rejects.push({ path, code: 'invalid_content_item', reason: `${path} is not an object` });
      continue;
    }
    if (typeof src.id !== 'string' || src.id === '') {
      rejects.push({ path, code: 'missing_id', reason: `${path} has no string id` });
      continue;
    }
    if (seen.has(src.id)) {
      rejects.push({ path, code: 'duplicate_id', reason: `${path} repeats the id of an earlier item; the first one was kept` });
      continue;
    }
    if (typeof src.contentTypeId !== 'string' || src.contentTypeId === '') {
      rejects.push({ path, code: 'missing_content_type', reason: `${path} has no contentTypeId, so it cannot be attached to a content type` });
      continue;
    }
    if (src.data !== undefined && !isRecord(src.data)) {
      rejects.push({ path: `${path}.data`, code: 'invalid_data', reason: `${path}.data is not an object (field name → value)` });
      continue;
    }
    const createdAt = requireDate(src.createdAt, `${path}.createdAt`, rejects);
    const updatedAt = requireDate(src.updatedAt, `${path}.updatedAt`, rejects);
    if (!createdAt || !updatedAt) continue;
    seen.add(src.id);
    const data = blobs.replaceDeep(src.data ?? {}, `${path}.data`, rejects);
    rows.push(
      row(ctx, ctx.id('content_item', src.id), src.id, {
        contentTypeId: ctx.contentTypeId(src.contentTypeId),
        websiteId,
        data,
        status: 'draft', // the browser app had no publishing state (§7.3: status @default("draft"))
        createdAt,
        updatedAt,
      }),
    );
  }
  const collected = blobs.blobs;
  return { rows: { content_items: rows }, rejects, ...(collected.length ? { blobs: collected } : {}) };
}

export function transform(entry: SourceEntry, ctx: TransformContext): TransformResult {
  const parsed = parseJson(entry.value);
  if (!parsed.ok) return rejected(parsed.reason);
  const found = unwrap(parsed.value);
  if ('error' in found) return rejected(found.error);
  if (!ctx.globalWebsite) {
    return rejected('no website to attach global content items to (no website in the dump and no ?websiteId= given); upload again with ?websiteId=');
  }
  const mapped = mapItems(found.items.map((element, index) => ({ index, element })), found.base, ctx);
  return finish({ ...mapped, notes: found.notes }, 'content-storage holds no items');
}

/**
 * The same mapping a slice at a time (jobs/phases/slices.ts): items are kept together by id, so a repeated
 * id is judged within one slice, against the earlier items of that id only, exactly as above.
 */
export const sliced: SlicedTransform = {
  split,
  splitText,
  keyOf: (item) => (isRecord(item) && typeof item.id === 'string' ? item.id : null),
  map: mapItems,
};
