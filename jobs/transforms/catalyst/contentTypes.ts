/**
 * localStorage `contentTypes` (L1, docs/catalyst-layout.md §2.2): a JSON `ContentType[]` → `content_types`
 * rows on the global website (content types are NOT per website, §2.1 "Scoping").
 *
 * Dedupe by `name` as the app does on load (§6 "Content-type load cleanup": keep the one with more
 * `fields`); our tie-breaks: the later `updatedAt`, then the first in the array. A dropped duplicate is
 * MERGED, not rejected: `notes.contentTypeAliases[droppedId] = keptId` lets the pipeline point
 * `ctx.contentTypeId` (and so content items) at the kept row, and `notes.contentTypeDuplicates` says
 * which path was folded into which. Only elements that could be written take part in the dedupe.
 *
 * `schema` = {pluralName, icon, description, fields, relationships}. In each relationship,
 * `sourceContentTypeId`/`targetContentTypeId` become ROW ids, and the browser ids are kept beside them
 * as `sourceContentTypeSourceId`/`targetContentTypeSourceId`. Unknown top-level keys go to `schema.extra`.
 */
import type { ElementReject, Row, SourceEntry, TransformContext, TransformResult } from '../types';
import { requireDate } from './dates';
import { type Obj, finish, fits, isRecord, otherKeys, parseJson, rejected, row, slugify } from './util';

const KNOWN = ['id', 'name', 'pluralName', 'icon', 'description', 'fields', 'relationships', 'createdAt', 'updatedAt'];

interface Candidate { index: number; src: Obj; id: string; name: string; createdAt: Date; updatedAt: Date }

/** Validates one element; undefined (with rejects) when it cannot be written. */
function candidate(src: unknown, index: number, rejects: ElementReject[]): Candidate | undefined {
  const path = `[${index}]`;
  if (!isRecord(src)) {
    rejects.push({ path, code: 'invalid_content_type', reason: `${path} is not an object` });
    return undefined;
  }
  if (typeof src.id !== 'string' || src.id === '' || typeof src.name !== 'string' || src.name.trim() === '') {
    rejects.push({ path, code: 'missing_id_or_name', reason: `${path} has no string id and name; a content type needs both` });
    return undefined;
  }
  if (!fits(src.name, 255, `${path}.name`, rejects)) return undefined;
  const created = requireDate(src.createdAt, `${path}.createdAt`, rejects);
  const updated = requireDate(src.updatedAt, `${path}.updatedAt`, rejects);
  if (!created || !updated) return undefined;
  return { index, src, id: src.id, name: src.name, createdAt: created, updatedAt: updated };
}

const fieldCount = (c: Candidate): number => (Array.isArray(c.src.fields) ? c.src.fields.length : 0);

/** True when `b` should replace the current keeper `a` (more fields; then later updatedAt; else first stays). */
function better(b: Candidate, a: Candidate): boolean {
  if (fieldCount(b) !== fieldCount(a)) return fieldCount(b) > fieldCount(a);
  return b.updatedAt.getTime() > a.updatedAt.getTime();
}

interface Dedupe {
  kept: Candidate[];
  aliases: Record<string, string>;
  duplicates: Array<{ path: string; sourceId: string; name: string; keptPath: string; keptSourceId: string }>;
}

function dedupe(cands: Candidate[], rejects: ElementReject[]): Dedupe {
  const byName = new Map<string, Candidate[]>();
  for (const c of cands) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  const keepers = new Map<string, Candidate>();
  for (const [name, group] of byName) keepers.set(name, group.reduce((a, b) => (better(b, a) ? b : a)));
  const out: Dedupe = { kept: [], aliases: {}, duplicates: [] };
  const keptIds = new Set<string>();
  for (const c of cands) {
    const k = keepers.get(c.name)!;
    if (c === k) {
      if (keptIds.has(c.id)) {
        // Two different names with one id would be two rows with one primary key.
        rejects.push({ path: `[${c.index}]`, code: 'duplicate_id', reason: `[${c.index}] reuses the id of an earlier content type with another name` });
        continue;
      }
      keptIds.add(c.id);
      out.kept.push(c);
    } else {
      if (c.id !== k.id) out.aliases[c.id] = k.id;
      out.duplicates.push({ path: `[${c.index}]`, sourceId: c.id, name: c.name, keptPath: `[${k.index}]`, keptSourceId: k.id });
    }
  }
  return out;
}

/** Relationship ids → row ids, through this entry's own aliases first (ctx may not know them yet). */
function remapRelationships(rels: unknown, aliases: Record<string, string>, ctx: TransformContext): unknown {
  if (!Array.isArray(rels)) return rels;
  const map = (v: unknown): unknown => (typeof v === 'string' ? ctx.contentTypeId(aliases[v] ?? v) : v);
  return rels.map((r) =>
    isRecord(r)
      ? {
          ...r,
          sourceContentTypeId: map(r.sourceContentTypeId),
          targetContentTypeId: map(r.targetContentTypeId),
          sourceContentTypeSourceId: r.sourceContentTypeId,
          targetContentTypeSourceId: r.targetContentTypeId,
        }
      : r,
  );
}

export function transform(entry: SourceEntry, ctx: TransformContext): TransformResult {
  const parsed = parseJson(entry.value);
  if (!parsed.ok) return rejected(parsed.reason);
  if (!Array.isArray(parsed.value)) return rejected('contentTypes is not a JSON array (expected ContentType[], docs/catalyst-layout.md §2.2)');
  if (!ctx.globalWebsite) {
    return rejected('no website to attach global content types to (no website in the dump and no ?websiteId= given); upload again with ?websiteId=');
  }
  const websiteId = ctx.globalWebsite.id;
  const rejects: ElementReject[] = [];
  const cands = parsed.value.map((src, i) => candidate(src, i, rejects)).filter((c): c is Candidate => !!c);
  const { kept, aliases, duplicates } = dedupe(cands, rejects);

  const slugs = new Map<string, number>();
  const slugCollisions: Array<{ path: string; slug: string }> = [];
  const rows: Row[] = kept.map((c) => {
    // uq_content_types_website_slug: distinct names can still share a slug ("BlogPost", "Blog Post").
    const base = slugify(c.name, 'content-type', 240);
    const n = (slugs.get(base) ?? 0) + 1;
    slugs.set(base, n);
    const slug = n === 1 ? base : `${base}-${n}`;
    if (n > 1) slugCollisions.push({ path: `[${c.index}]`, slug });
    const extra = otherKeys(c.src, KNOWN);
    const schema: Obj = {
      pluralName: c.src.pluralName,
      icon: c.src.icon,
      description: c.src.description,
      fields: c.src.fields ?? [],
      relationships: remapRelationships(c.src.relationships ?? [], aliases, ctx),
    };
    if (extra.length) schema.extra = Object.fromEntries(extra.map((k) => [k, c.src[k]]));
    return row(ctx, ctx.contentTypeId(c.id), c.id, { websiteId, name: c.name, slug, schema, createdAt: c.createdAt, updatedAt: c.updatedAt });
  });

  const notes: Obj = {};
  if (duplicates.length) {
    notes.contentTypeAliases = aliases;
    notes.contentTypeDuplicates = duplicates;
  }
  if (slugCollisions.length) notes.contentTypeSlugSuffixes = slugCollisions;
  return finish({ rows: { content_types: rows }, rejects, notes }, 'contentTypes is an empty array');
}

/**
 * The aliases alone (dropped source id → kept source id), so the pipeline can build
 * `ctx.contentTypeId` before transforming content items. Same rules as `transform`.
 */
export function contentTypeAliases(entry: SourceEntry): Record<string, string> {
  const parsed = parseJson(entry.value);
  if (!parsed.ok || !Array.isArray(parsed.value)) return {};
  const rejects: ElementReject[] = [];
  const cands = parsed.value.map((src, i) => candidate(src, i, rejects)).filter((c): c is Candidate => !!c);
  return dedupe(cands, rejects).aliases;
}
