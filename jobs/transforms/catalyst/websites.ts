/**
 * `websites` rows from I2 (`catalyst_global/websites`, WebsiteMetadata) and I3 `website_<id>_config`
 * (WebsiteConfig), docs/catalyst-layout.md §2.11. Both describe the SAME row, and the pipeline upserts
 * whole rows, so the pipeline must group a website's entries and call `mergeWebsite` once per source
 * website id (index.ts does that grouping in `catalystLayout.groupTransforms`).
 *
 * Limit of the current pipeline (jobs/phases: a group sees only its own kinds): the websites phase gets
 * the 'website' and 'website-config' entries, not the other sections. So a website with content/assets/
 * AI sections but neither metadata nor config gets no row there (its section rows are then refused by
 * the reference check, with a reason), and the section-date fallback below falls through to 1970.
 * The app always writes all four sections together (§2.11 createWebsite), so this is an edge case.
 *
 * Date rule (brief: "choose and document"), also stated in the result's notes when used:
 *   createdAt = metadata.createdAt; updatedAt = metadata.lastModified, else createdAt.
 *   Missing metadata (or an invalid date, which is ALSO reported as 'invalid_date'): the earliest valid
 *   date found in the website's other sections (page createdAt/updatedAt, AI history timestamps),
 *   else 1970-01-01T00:00:00Z, a sentinel meaning "unknown" (never the migration time: transforms
 *   are deterministic).
 */
import type { ElementReject, SourceEntry, TransformContext, TransformResult } from '../types';
import { classify, parseSectionDb } from './classify';
import { earliest, readDate, unknownDate } from './dates';
import { type EntryOutcome, type GroupResult, type Obj, isEmptyRecord, isRecord, otherKeys, row, slugify } from './util';

/** WebsiteMetadata (§2.11) as decoded; every field may be missing or of the wrong type in a dump. */
export interface WebsiteMetaRecord {
  id?: unknown; name?: unknown; icon?: unknown; createdAt?: unknown; lastModified?: unknown;
  storageQuota?: unknown; category?: unknown; description?: unknown; [k: string]: unknown;
}
/** WebsiteConfig as stored: `{...config, id:'main'}` (the website id is overwritten by 'main'). */
export interface ConfigRecord { id?: unknown; settings?: unknown; theme?: unknown; metadata?: unknown; [k: string]: unknown }
/** The website's other section records, used only for the date fallback and the 'default' quirk. */
export interface WebsiteSections { content?: unknown; assets?: unknown; aiContext?: unknown }

const META_KEYS = ['id', 'name', 'icon', 'createdAt', 'lastModified', 'storageQuota', 'category', 'description'];
const CONFIG_KEYS = ['id', 'settings', 'theme', 'metadata'];

/** Dates in content pages and AI history, for the fallback rule above. */
export function sectionDates(s: WebsiteSections | undefined): unknown[] {
  const out: unknown[] = [];
  const pages = isRecord(s?.content) && Array.isArray(s.content.pages) ? s.content.pages : [];
  for (const p of pages) if (isRecord(p)) out.push(p.createdAt, p.updatedAt);
  const history = isRecord(s?.aiContext) && Array.isArray(s.aiContext.history) ? s.aiContext.history : [];
  for (const h of history) if (isRecord(h)) out.push(h.timestamp);
  return out;
}

/** `storage_quota` is a bigint column, carried as a decimal string. */
function quota(v: unknown): string | null {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === 'string' && /^\d{1,18}$/.test(v)) return v;
  return null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * The quirk of §2.1 "Website ids": the route id `default` makes the app open `website_default_*`,
 * which creates EMPTY DBs and no metadata record. Such a website (no metadata, every section empty)
 * is an artefact, not user data: no row is written and its entries are preserved raw.
 */
export function isDefaultArtefact(meta: unknown, config: unknown, sourceWebsiteId: string, sections?: WebsiteSections): boolean {
  if (sourceWebsiteId !== 'default' || meta) return false;
  return [config, sections?.content, sections?.assets, sections?.aiContext].every((s) => s === null || s === undefined || isEmptyRecord(s));
}

export function mergeWebsite(
  meta: WebsiteMetaRecord | null,
  config: ConfigRecord | null,
  sourceWebsiteId: string,
  ctx: TransformContext,
  sections?: WebsiteSections,
): TransformResult {
  if (isDefaultArtefact(meta, config, sourceWebsiteId, sections)) {
    return { outcome: 'preserved', reason: "website 'default' has no metadata and only empty sections (the website_default_* quirk, docs/catalyst-layout.md §2.1); no website row written" };
  }
  const rejects: ElementReject[] = [];
  // Batch notes are merged key by key (shallowly), so each website's note lives under its own key.
  const note: Obj = {};
  const id = ctx.websiteId(sourceWebsiteId);

  // Dates: see the rule in the header comment.
  const created = meta ? readDate(meta.createdAt, 'createdAt', rejects) : null;
  const modified = meta ? readDate(meta.lastModified, 'lastModified', rejects) : null;
  let createdAt = created instanceof Date ? created : null;
  let updatedAt = modified instanceof Date ? modified : createdAt;
  if (!createdAt || !updatedAt) {
    const fallback = earliest(sectionDates(sections));
    createdAt ??= fallback ?? unknownDate();
    updatedAt ??= createdAt;
    note.dateRule = fallback
      ? 'no valid metadata date: used the earliest date found in the website sections'
      : 'no valid metadata date and none in the sections: used 1970-01-01T00:00:00Z (unknown)';
  }

  const metadata: Obj = {};
  if (config) {
    for (const k of ['settings', 'theme', 'metadata']) if (config[k] !== undefined) metadata[k] = config[k];
    // §2.11: `id` is always overwritten with 'main'; any other value is kept, 'main' is dropped.
    if (config.id !== undefined && config.id !== 'main') metadata.configId = config.id;
    const extra = otherKeys(config, CONFIG_KEYS);
    if (extra.length) metadata.configExtra = Object.fromEntries(extra.map((k) => [k, config[k]]));
  }
  if (meta) {
    const extra = otherKeys(meta, META_KEYS);
    if (extra.length) metadata.sourceExtra = Object.fromEntries(extra.map((k) => [k, meta[k]]));
  }

  let name = str(meta?.name);
  if (name === null || name.trim() === '') {
    name = `Website ${sourceWebsiteId}`;
    note.withoutName = true;
  }
  if (name.length > 255) {
    metadata.originalName = name; // varchar(255): keep the full name losslessly
    name = name.slice(0, 255);
  }
  let category = str(meta?.category);
  if (category !== null && category.length > 100) {
    metadata.originalCategory = category;
    category = category.slice(0, 100);
  }
  if (!meta) note.withoutMetadata = 'no catalyst_global/websites record: built from its config section';

  // Slugs are unique per user (uq_websites_user_slug) while names are not ("My Website" duplicates, §2.1).
  const slug = `${slugify(name, 'website')}-${id.replace(/-/g, '').slice(0, 8)}`;
  const website = row(ctx, id, sourceWebsiteId, {
    name,
    slug,
    description: str(meta?.description),
    category,
    icon: str(meta?.icon),
    storageQuota: quota(meta?.storageQuota),
    metadata,
    createdAt,
    updatedAt,
  });
  return { rows: { websites: [website] }, rejects, notes: Object.keys(note).length ? { [`website:${sourceWebsiteId}`]: note } : {} };
}

/** The source website id an entry of kind 'website' or a section kind belongs to. */
export function websiteSourceIdOf(entry: SourceEntry): string | null {
  const section = parseSectionDb(entry.dbName);
  if (section) return section.websiteSourceId;
  if (isRecord(entry.value) && typeof entry.value.id === 'string') return entry.value.id;
  return typeof entry.key === 'string' ? entry.key : null;
}

/**
 * One website's entries (any of 'website', 'website-config', 'website-content', 'website-assets',
 * 'website-ai-context'). Outcomes are given for the 'website' and 'website-config' entries only; the
 * other sections' outcomes come from their own transforms (websiteStorage.ts, aiData.ts).
 */
export function mergeWebsiteGroup(entries: SourceEntry[], ctx: TransformContext): GroupResult {
  const byKind = new Map<string, SourceEntry>();
  const outcomes: EntryOutcome[] = [];
  for (const e of entries) {
    const kind = classify(e);
    if (byKind.has(kind) && (kind === 'website' || kind === 'website-config')) {
      outcomes.push({ seq: e.seq, outcome: 'rejected', reason: `a second ${kind} record for the same website; the first (seq ${byKind.get(kind)!.seq}) was used` });
      continue;
    }
    byKind.set(kind, e);
  }
  const metaEntry = byKind.get('website');
  const configEntry = byKind.get('website-config');
  const sourceId = websiteSourceIdOf(metaEntry ?? configEntry ?? entries[0]) ?? '';
  const meta = metaEntry && isRecord(metaEntry.value) ? metaEntry.value : null;
  const config = configEntry && isRecord(configEntry.value) ? configEntry.value : null;
  const own = [metaEntry, configEntry].filter((e): e is SourceEntry => !!e);
  if (metaEntry && !meta) outcomes.push({ seq: metaEntry.seq, outcome: 'rejected', reason: 'website metadata record is not an object' });
  if (configEntry && !config) outcomes.push({ seq: configEntry.seq, outcome: 'rejected', reason: 'website config record is not an object' });
  const sections: WebsiteSections = {
    content: byKind.get('website-content')?.value,
    assets: byKind.get('website-assets')?.value,
    aiContext: byKind.get('website-ai-context')?.value,
  };
  // Sections without metadata or config still need their website row (the brief; §2.11 parents).
  const result = mergeWebsite(meta, config, sourceId, ctx, sections);
  const written = !!result.rows?.websites?.length;
  const first = meta ? metaEntry : config ? configEntry : undefined;
  for (const e of own) {
    if (outcomes.some((o) => o.seq === e.seq)) continue;
    outcomes.push({
      seq: e.seq,
      outcome: written ? 'migrated' : (result.outcome ?? 'preserved'),
      ...(written ? {} : { reason: result.reason }),
      ...(e === first && result.rejects?.length ? { rejects: result.rejects } : {}),
    });
  }
  return { result: { ...result, rejects: [] }, outcomes };
}

/**
 * A single 'website' or 'website-config' entry on its own. Correct only when the other record of the
 * same website is absent: otherwise use mergeWebsiteGroup, or one would overwrite the other's columns.
 */
export function transform(entry: SourceEntry, ctx: TransformContext): TransformResult {
  const { result, outcomes } = mergeWebsiteGroup([entry], ctx);
  const own = outcomes[0];
  if (!own || own.outcome === 'rejected') return { outcome: 'rejected', reason: own?.reason ?? 'not a website entry' };
  return { ...result, rejects: own.rejects ?? [] };
}
