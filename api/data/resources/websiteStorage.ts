/**
 * /v1/websites/:websiteId/content and /assets — a website's I3 storage sections (docs/catalyst-layout.md §2.11),
 * shaped as the app held them: `ContentData {pages, components, templates}` and `AssetReferences {images,
 * videos, documents}`, elements in their array order (`position`). The migration spreads each section
 * over one row per element; these routes put it back together, and a PUT replaces the whole section the
 * way the app's `saveWebsiteData` overwrote its one record: rows are built by the migration's own
 * transforms (same ids, same data: URL handling), rows no longer in the section are deleted.
 * A section's ETag combines its rows' tags in order, so any element change, addition or removal shows.
 */
import { isDeepStrictEqual } from 'node:util';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { Errors } from '../../../core/errors';
import { storeAssets } from '../../../jobs/write/assets';
import { transformAssets, transformContent } from '../../../jobs/transforms/catalyst/websiteStorage';
import type { Row, SourceEntry, TableName, TransformResult } from '../../../jobs/transforms/types';
import { deleteApiRows, writeApiRows } from '../../../jobs/write/apiRows';
import { transformContextFor } from '../context';
import { checkIfMatch, combineTags, etagSql, quote } from '../etag';
import { route, type DataRequest } from '../route';
import { compact, iso, type Db, type Loaded, type RowJson } from '../rows';
import { ETAG_HEADER, IF_MATCH, IsoDate, JsonObject, WebsiteParams, errors, IF_NONE_MATCH } from '../schemas';
import { withApiWrite } from '../write';
import { loadWebsite } from './websites';

// eslint-disable-next-line no-control-regex -- refusing control characters is the point (Postgres text holds no U+0000)
const ElementId = z.string().min(1).max(200).regex(/^[^\u0000]+$/, 'must not contain U+0000').describe('The id the app gave the element');
const ServerId = z.uuid().optional().describe('Ignored on writes (GET returns it): elements are matched by `id`');
const Page = z.strictObject({
  id: ElementId, serverId: ServerId, title: z.string(), slug: z.string(), content: z.string().describe('HTML or text'),
  metadata: JsonObject.optional(),
  createdAt: IsoDate.optional().describe('Default: kept from the stored page, else now'),
  updatedAt: IsoDate.optional().describe('Default: kept when the page is unchanged, else now'),
});
const Component = z.strictObject({
  id: ElementId, serverId: ServerId, name: z.string(), type: z.string(), props: JsonObject,
  children: z.array(JsonObject).optional().describe('Nested Component objects, kept as the app wrote them'),
});
const Template = z.strictObject({
  id: ElementId, serverId: ServerId, name: z.string(), description: z.string().optional(), structure: JsonObject, variables: z.array(z.string()),
});
const ContentBody = z.strictObject({ pages: z.array(Page).optional(), components: z.array(Component).optional(), templates: z.array(Template).optional() });
// eslint-disable-next-line no-control-regex -- refusing control characters is the point (Postgres text holds no U+0000)
const AssetUrl = z.string().regex(/^[^\u0000]*$/, 'must not contain U+0000');
const AssetsBody = z.strictObject({
  images: z.array(AssetUrl).optional(), videos: z.array(AssetUrl).optional(), documents: z.array(AssetUrl).optional(),
}).describe('URL lists; an inline data: URL is moved to a stable asset URL');

const Section = { id: z.uuid().describe("The website's server id"), sourceId: z.string().describe("The website's browser id") };
const Out = { id: z.string().describe('The id the app used'), serverId: z.uuid() };
const ContentSection = z.object({
  ...Section,
  pages: z.array(z.object({ ...Out, title: z.string(), slug: z.string().optional(), content: z.string(), metadata: JsonObject.optional(), createdAt: IsoDate.optional(), updatedAt: IsoDate.optional() })),
  components: z.array(z.object({ ...Out, name: z.string(), type: z.string(), props: JsonObject, children: z.array(z.unknown()).optional() })),
  templates: z.array(z.object({ ...Out, name: z.string(), description: z.string().optional(), structure: JsonObject, variables: z.array(z.unknown()) })),
}).describe('ContentData as the app stored it');
const AssetsSection = z.object({ ...Section, images: z.array(z.string()), videos: z.array(z.string()), documents: z.array(z.string()) }).describe('AssetReferences as the app stored it');

const CONTENT_TABLES = ['website_pages', 'website_components', 'website_templates'] as const;
type ContentTable = (typeof CONTENT_TABLES)[number];
const ASSET_KINDS = [['images', 'image'], ['videos', 'video'], ['documents', 'document']] as const;

/** Rows of one section table, in section order, each with its tag. */
async function sectionRows(db: Db, table: TableName, website: RowJson): Promise<Loaded[]> {
  const order = table === 'website_assets' ? `array_position(ARRAY['image','video','document'], t.kind::text), t.position, t.id` : 't.position, t.id';
  const kinds = table === 'website_assets' ? `AND t.kind IN ('image','video','document')` : '';
  const rows: { r: RowJson; etag: string }[] = await db.query(
    `SELECT to_jsonb(t) AS r, ${etagSql('t')} AS etag FROM "${table}" t WHERE t.website_id = $1 AND t.user_id = $2 ${kinds} ORDER BY ${order}`,
    [website.id, website.user_id],
  );
  return rows.map((x) => ({ r: x.r, etag: quote(x.etag) }));
}

type ContentRows = Record<ContentTable, Loaded[]>;

async function loadContent(db: Db, website: RowJson): Promise<{ rows: ContentRows; etag: string }> {
  const rows = {} as ContentRows;
  for (const t of CONTENT_TABLES) rows[t] = await sectionRows(db, t, website);
  return { rows, etag: combineTags(CONTENT_TABLES.flatMap((t) => rows[t].map((x) => x.etag))) };
}

const nonEmpty = (v: unknown) => (Array.isArray(v) ? v.length > 0 : v !== null && typeof v === 'object' && Object.keys(v).length > 0);

/** Rows → ContentData. `metadata` and `children` the transform defaulted to {} / [] are left out, as the app never wrote them. */
function contentShape(website: RowJson, rows: ContentRows) {
  const el = (r: RowJson) => ({ id: r.source_id, serverId: r.id });
  return {
    id: website.id,
    sourceId: website.source_id,
    pages: rows.website_pages.map(({ r }) => ({
      ...el(r), title: r.title as string, content: r.content as string,
      ...compact({ slug: r.slug, metadata: nonEmpty(r.metadata) ? r.metadata : null, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at) }),
    })),
    components: rows.website_components.map(({ r }) => ({
      ...el(r), name: r.name as string, type: r.type as string, props: r.props as Record<string, unknown>, ...compact({ children: nonEmpty(r.children) ? r.children : null }),
    })),
    templates: rows.website_templates.map(({ r }) => ({
      ...el(r), name: r.name as string, ...compact({ description: r.description }), structure: r.structure as Record<string, unknown>, variables: r.variables as unknown[],
    })),
  };
}

function assetsShape(website: RowJson, rows: Loaded[]) {
  const out: Record<string, unknown> = { id: website.id, sourceId: website.source_id };
  for (const [key, kind] of ASSET_KINDS) out[key] = rows.filter((x) => x.r.kind === kind).map((x) => x.r.url as string);
  return out;
}

/** Runs a section transform on `{...value, id:'main'}` as the app stored it; 400 on anything it refuses. */
function runTransform(req: DataRequest<unknown, unknown, unknown>, website: RowJson, section: 'content' | 'assets', value: object): TransformResult {
  const entry: SourceEntry = { seq: 0, area: 'indexedDB', dbName: `website_${website.source_id}_${section}`, storeName: 'data', key: 'main', value: { ...value, id: 'main' } };
  const ctx = transformContextFor(req.deps.config, req.caller.userId, { id: website.id, sourceId: website.source_id });
  const result = (section === 'content' ? transformContent : transformAssets)(entry, ctx);
  // A data: URL that does not decode is kept as written (as a migration keeps it), so it is not fatal.
  const bad = result.rejects?.find((r) => r.code !== 'invalid_data_url');
  if (bad || result.outcome === 'rejected') throw Errors.badRequest('invalid_body', `The ${section} section cannot be stored: ${bad?.reason ?? result.reason}.`, { rejects: result.rejects });
  return result;
}

const plain = (v: unknown) => JSON.parse(JSON.stringify(v ?? null));

/**
 * Page dates the body leaves out: createdAt is kept from the stored page (else now); updatedAt is kept
 * while the page is unchanged, so re-sending a section unchanged changes nothing (not even its ETag).
 */
function datePages(pages: Row[], stored: Loaded[], body: z.infer<typeof ContentBody>): Row[] {
  const byId = new Map(stored.map((x) => [x.r.id, x.r]));
  const now = new Date();
  return pages.map((p, i) => {
    const old = byId.get(p.id);
    const given = body.pages?.[i];
    const same = old !== undefined && ['title', 'slug', 'content', 'metadata'].every((k) => isDeepStrictEqual(plain(p[k]), plain(old[k])));
    const keep = (v: unknown) => (typeof v === 'string' ? new Date(v) : now);
    return {
      ...p,
      createdAt: given?.createdAt ? p.createdAt : keep(old?.created_at),
      updatedAt: given?.updatedAt ? p.updatedAt : same ? keep(old.updated_at) : now,
    };
  });
}

/** Writes `rows` of `table` and deletes the section's other rows of that table. */
async function replaceRows(m: EntityManager, userId: string, table: TableName, websiteId: string, before: Loaded[], rows: Row[]): Promise<void> {
  const keep = new Set(rows.map((r) => r.id));
  await deleteApiRows(m, table, userId, before.map((x) => x.r.id).filter((id) => !keep.has(id)));
  await writeApiRows(m, table, rows.map((r) => ({ ...r, websiteId })));
}


const tag = 'Website storage';
type P = { websiteId: string };
export const websiteStorageRoutes = [
  route({
    method: 'get', path: '/v1/websites/:websiteId/content', operationId: 'getWebsiteContent', tag, auth: 'user', snapshot: true,
    summary: "Get a website's content section (ContentData: pages, components, templates)", params: WebsiteParams,
    description: "Each element's `id` is the one the app used; `serverId` is the server's. An empty section answers empty lists.",
    requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The content section', schema: ContentSection, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req: DataRequest<P>) => {
      const w = await loadWebsite(req.db, req, req.params.websiteId);
      const c = await loadContent(req.db, w.r);
      return { body: contentShape(w.r, c.rows), etag: c.etag };
    },
  }),
  route({
    method: 'put', path: '/v1/websites/:websiteId/content', operationId: 'replaceWebsiteContent', tag, auth: 'user',
    summary: "Replace a website's content section", params: WebsiteParams, body: ContentBody, requestHeaders: IF_MATCH,
    description: 'The section is replaced as a whole: elements left out are deleted, a missing list means an empty one. Elements are matched by `id`.',
    responses: { 200: { description: 'The new section', schema: ContentSection, headers: ETAG_HEADER }, ...errors(400, 401, 403, 404, 412, 415) },
    examples: [{ summary: 'One page', request: { pages: [{ id: 'page-home', title: 'Home', slug: 'home', content: '<h1>Welcome</h1>' }], components: [], templates: [] } }],
    handler: async (req: DataRequest<P, unknown, z.infer<typeof ContentBody>>) =>
      withApiWrite(req, async (m) => {
        const w = await loadWebsite(m, req, req.params.websiteId);
        const before = await loadContent(m, w.r);
        checkIfMatch(req.ifMatch, before.etag, 'The content section');
        const { rows = {} } = runTransform(req, w.r, 'content', { pages: [], components: [], templates: [], ...req.body });
        const built: Record<ContentTable, Row[]> = {
          website_pages: datePages(rows.website_pages ?? [], before.rows.website_pages, req.body),
          website_components: rows.website_components ?? [],
          website_templates: rows.website_templates ?? [],
        };
        for (const t of CONTENT_TABLES) await replaceRows(m, req.caller.userId, t, w.r.id, before.rows[t], built[t]);
        const after = await loadContent(m, w.r);
        return { body: contentShape(w.r, after.rows), etag: after.etag };
      }),
  }),
  route({
    method: 'get', path: '/v1/websites/:websiteId/assets', operationId: 'getWebsiteAssets', tag, auth: 'user',
    summary: "Get a website's asset references (AssetReferences: images, videos, documents)", params: WebsiteParams,
    requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The assets section', schema: AssetsSection, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req: DataRequest<P>) => {
      const w = await loadWebsite(req.db, req, req.params.websiteId);
      const rows = await sectionRows(req.db, 'website_assets', w.r);
      return { body: assetsShape(w.r, rows), etag: combineTags(rows.map((x) => x.etag)) };
    },
  }),
  route({
    method: 'put', path: '/v1/websites/:websiteId/assets', operationId: 'replaceWebsiteAssets', tag, auth: 'user',
    summary: "Replace a website's asset references", params: WebsiteParams, body: AssetsBody, requestHeaders: IF_MATCH,
    description: 'The lists are replaced as a whole (a missing list means an empty one). An inline `data:` URL is stored as a binary and answered as its stable asset URL.',
    responses: { 200: { description: 'The new section', schema: AssetsSection, headers: ETAG_HEADER }, ...errors(400, 401, 403, 404, 412, 415) },
    examples: [{ summary: 'A logo', request: { images: ['https://images.example.com/logo.png'], videos: [], documents: [] } }],
    handler: async (req: DataRequest<P, unknown, z.infer<typeof AssetsBody>>) => {
      const pre = await loadWebsite(req.deps.ds, req, req.params.websiteId);
      const result = runTransform(req, pre.r, 'assets', { images: [], videos: [], documents: [], ...req.body });
      return withApiWrite(req, async (m) => {
        // In the write's transaction, as a migration page does (jobs/assets.ts says why).
        await storeAssets(m, req.deps.store, result.blobs ?? [], null);
        const w = await loadWebsite(m, req, pre.r.id);
        const before = await sectionRows(m, 'website_assets', w.r);
        checkIfMatch(req.ifMatch, combineTags(before.map((x) => x.etag)), 'The assets section');
        await replaceRows(m, req.caller.userId, 'website_assets', w.r.id, before, result.rows?.website_assets ?? []);
        const after = await sectionRows(m, 'website_assets', w.r);
        return { body: assetsShape(w.r, after), etag: combineTags(after.map((x) => x.etag)) };
      });
    },
  }),
];
