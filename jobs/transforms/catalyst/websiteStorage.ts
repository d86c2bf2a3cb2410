/**
 * I3 sections `website_<id>_content` and `website_<id>_assets` (docs/catalyst-layout.md §2.11), each ONE
 * record `{...section, id:'main'}` → one row per element, `position` = index in the source array.
 * Row ids: `ctx.id('website_<table>', websiteSourceId, element.id ?? index)` (index also for asset
 * strings, which have no id; a repeated element id gets `#<index>`). `sourceId` is the element's id,
 * else its path, e.g. `images[2]`.
 */
import type { ElementReject, Row, SourceEntry, TransformContext, TransformResult } from '../types';
import { parseSectionDb } from './classify';
import { BlobCollector } from './dataUrls';
import { readDate } from './dates';
import { ElementKeys, type Obj, finish, isEmptyRecord, isRecord, objOr, otherKeys, rejected, row, textOf } from './util';

const DEFAULT_QUIRK =
  "website 'default' section with only empty defaults (the website_default_* quirk, docs/catalyst-layout.md §2.1); nothing to migrate, kept raw";

/** An array at `o[key]`; absent → []; anything else → a reject and []. */
function list(o: Obj, key: string, rejects: ElementReject[]): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  rejects.push({ path: key, code: 'invalid_shape', reason: `${key} is not an array` });
  return [];
}

export interface Section { websiteSourceId: string; websiteId: string; value: Obj }

/** Common checks for every I3 section; a TransformResult when the entry cannot (or need not) be mapped. */
export function openSection(entry: SourceEntry, ctx: TransformContext): Section | TransformResult {
  const section = parseSectionDb(entry.dbName);
  if (!section) return rejected(`database ${JSON.stringify(entry.dbName)} is not a website_<id>_<section> database`);
  if (!isRecord(entry.value)) return rejected(`the ${section.section} record is not an object`);
  if (section.websiteSourceId === 'default' && isEmptyRecord(entry.value)) return { outcome: 'preserved', reason: DEFAULT_QUIRK };
  return { websiteSourceId: section.websiteSourceId, websiteId: ctx.websiteId(section.websiteSourceId), value: entry.value };
}

function pages(s: Section, ctx: TransformContext, rejects: ElementReject[]): Row[] {
  const keys = new ElementKeys();
  const out: Row[] = [];
  list(s.value, 'pages', rejects).forEach((p, i) => {
    const path = `pages[${i}]`;
    if (!isRecord(p)) return void rejects.push({ path, code: 'invalid_page', reason: `${path} is not an object` });
    const key = keys.key(p.id, i);
    // Nullable columns: an invalid date is reported and stored as null (never guessed).
    const createdAt = readDate(p.createdAt, `${path}.createdAt`, rejects);
    const updatedAt = readDate(p.updatedAt, `${path}.updatedAt`, rejects);
    out.push(row(ctx, ctx.id('website_page', s.websiteSourceId, key), typeof p.id === 'string' ? p.id : path, {
      websiteId: s.websiteId,
      position: i,
      title: textOf(p.title),
      slug: typeof p.slug === 'string' ? p.slug : null,
      content: textOf(p.content), // HTML or text; a non-string is kept as its JSON
      metadata: objOr(p.metadata, {}),
      createdAt: createdAt instanceof Date ? createdAt : null,
      updatedAt: updatedAt instanceof Date ? updatedAt : null,
    }));
  });
  return out;
}

function components(s: Section, ctx: TransformContext, rejects: ElementReject[]): Row[] {
  const keys = new ElementKeys();
  return list(s.value, 'components', rejects).flatMap((c, i) => {
    const path = `components[${i}]`;
    if (!isRecord(c)) {
      rejects.push({ path, code: 'invalid_component', reason: `${path} is not an object` });
      return [];
    }
    return [row(ctx, ctx.id('website_component', s.websiteSourceId, keys.key(c.id, i)), typeof c.id === 'string' ? c.id : path, {
      websiteId: s.websiteId,
      position: i,
      name: textOf(c.name),
      type: textOf(c.type),
      props: objOr(c.props, {}),
      children: Array.isArray(c.children) ? c.children : [], // nested Component[] kept as JSON
    })];
  });
}

function templates(s: Section, ctx: TransformContext, rejects: ElementReject[]): Row[] {
  const keys = new ElementKeys();
  return list(s.value, 'templates', rejects).flatMap((t, i) => {
    const path = `templates[${i}]`;
    if (!isRecord(t)) {
      rejects.push({ path, code: 'invalid_template', reason: `${path} is not an object` });
      return [];
    }
    return [row(ctx, ctx.id('website_template', s.websiteSourceId, keys.key(t.id, i)), typeof t.id === 'string' ? t.id : path, {
      websiteId: s.websiteId,
      position: i,
      name: textOf(t.name),
      description: typeof t.description === 'string' ? t.description : null,
      structure: objOr(t.structure, {}),
      variables: Array.isArray(t.variables) ? t.variables : [],
    })];
  });
}

/** 'website-content' → website_pages, website_components, website_templates. */
export function transformContent(entry: SourceEntry, ctx: TransformContext): TransformResult {
  const s = openSection(entry, ctx);
  if (!('value' in s)) return s;
  const rejects: ElementReject[] = [];
  const rows = {
    website_pages: pages(s, ctx, rejects),
    website_components: components(s, ctx, rejects),
    website_templates: templates(s, ctx, rejects),
  };
  const extra = otherKeys(s.value, ['id', 'pages', 'components', 'templates']);
  return finish({ rows, rejects, notes: extra.length ? { [`websiteContent:${s.websiteSourceId}`]: { unmappedKeys: extra } } : {} }, 'the content section is empty');
}

const ASSET_KINDS = [['images', 'image'], ['videos', 'video'], ['documents', 'document']] as const;

/** 'website-assets' → website_assets (kind image|video|document); data: URLs move to blobs. */
export function transformAssets(entry: SourceEntry, ctx: TransformContext): TransformResult {
  const s = openSection(entry, ctx);
  if (!('value' in s)) return s;
  const rejects: ElementReject[] = [];
  const blobs = new BlobCollector(ctx);
  const out: Row[] = [];
  for (const [key, kind] of ASSET_KINDS) {
    list(s.value, key, rejects).forEach((u, i) => {
      const path = `${key}[${i}]`;
      if (typeof u !== 'string') return void rejects.push({ path, code: 'invalid_asset', reason: `${path} is not a URL string` });
      out.push(row(ctx, ctx.id('website_asset', s.websiteSourceId, kind, String(i)), path, {
        websiteId: s.websiteId,
        position: i,
        kind,
        url: blobs.replace(u, path, rejects),
      }));
    });
  }
  const collected = blobs.blobs;
  const extra = otherKeys(s.value, ['id', 'images', 'videos', 'documents']);
  return finish(
    { rows: { website_assets: out }, rejects, ...(collected.length ? { blobs: collected } : {}), notes: extra.length ? { [`websiteAssets:${s.websiteSourceId}`]: { unmappedKeys: extra } } : {} },
    'the assets section is empty',
  );
}

/** Dispatches on the section of the entry's database. */
export function transform(entry: SourceEntry, ctx: TransformContext): TransformResult {
  const section = parseSectionDb(entry.dbName)?.section;
  if (section === 'content') return transformContent(entry, ctx);
  if (section === 'assets') return transformAssets(entry, ctx);
  return rejected(`websiteStorage handles website_<id>_content and _assets, not ${JSON.stringify(entry.dbName)}`);
}
