/**
 * /v1/websites/:websiteId/content-items — shaped as the app's `ContentItem` (localStorage
 * `content-storage`): `contentTypeId` and reference fields hold the ids the browser used. Lists are keyset
 * pages over (created_at, id): a page never repeats or skips a row because others were inserted meanwhile.
 * Writes check their references: the content type must belong to the website, and every field the type
 * declares as `reference` must name an item of the website (a server id is stored as that item's browser
 * id, so `data` stays in the app's terms). Inline `data:` images move to stable asset URLs, as in a migration.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { AppError, Errors } from '../../../core/errors';
import { storeAssets } from '../../../jobs/write/assets';
import { transform as contentItemsTransform } from '../../../jobs/transforms/catalyst/contentItems';
import type { Row } from '../../../jobs/transforms/types';
import { deleteApiRows, writeApiRows } from '../../../jobs/write/apiRows';
import { transformContextFor } from '../context';
import { checkIfMatch, etagSql } from '../etag';
import { route, type DataRequest } from '../route';
import { decodeTimeCursor, encodeCursor, findRow, iso, mustFind, type Db, type RowJson } from '../rows';
import { Cursor, ETAG_HEADER, IF_MATCH, IsoDate, JsonObject, Limit, Ref, SourceId, WebsiteItemParams, WebsiteParams, errors, IF_NONE_MATCH } from '../schemas';
import { withApiWrite } from '../write';
import { contentTypeShape, loadContentType } from './contentTypes';
import { loadWebsite } from './websites';

const Status = z.enum(['draft', 'published']);
const Fields = {
  contentTypeId: Ref.describe('Its content type: server id or browser id'),
  data: JsonObject.describe('Field name → value, as the app stores it'),
  status: Status.optional().describe('Default: draft'),
  createdAt: IsoDate.optional(),
  updatedAt: IsoDate.optional(),
};
const CreateItem = z.strictObject({ sourceId: SourceId.optional(), ...Fields });
const ReplaceItem = z.strictObject(Fields);
const PatchItem = z.strictObject({ contentTypeId: Fields.contentTypeId.optional(), data: Fields.data.optional(), status: Fields.status, updatedAt: Fields.updatedAt });
const ListQuery = z.strictObject({ contentTypeId: Ref.optional().describe('Only items of this content type'), cursor: Cursor, limit: Limit });

export const ContentItem = z
  .object({
    id: z.uuid(), sourceId: z.string(), websiteId: z.uuid(),
    contentTypeId: z.string().describe('The content type\'s browser id (what the app stored)'),
    contentTypeServerId: z.uuid(),
    data: JsonObject, status: z.string(), createdAt: IsoDate, updatedAt: IsoDate,
  })
  .describe('ContentItem as the app stored it');
const ItemPage = z.object({ items: z.array(ContentItem), nextCursor: z.string().nullable().describe('null on the last page') });

export function contentItemShape(r: RowJson, typeSourceId: string) {
  return {
    id: r.id,
    sourceId: r.source_id,
    websiteId: r.website_id as string,
    contentTypeId: typeSourceId,
    contentTypeServerId: r.content_type_id as string,
    data: r.data as Record<string, unknown>,
    status: r.status as string,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

const SELECT = `SELECT to_jsonb(t) AS r, ${etagSql('t')} AS etag, ct.source_id AS type_source FROM content_items t JOIN content_types ct ON ct.id = t.content_type_id`;

/**
 * One keyset page: $1 website, $2 user, then the content type's id if `byType`, then the cursor's
 * (created_at, id) if `cursor`, then the limit. No ETag per row here: lists carry none, and hashing each
 * row's JSON was a third of the query's cost (bench/readPath.ts). The bench issues this same statement.
 */
export function itemsPageSql(opts: { byType: boolean; cursor: boolean }): string {
  let where = 't.website_id = $1 AND t.user_id = $2';
  let n = 2;
  if (opts.byType) where += ` AND t.content_type_id = $${++n}`;
  if (opts.cursor) {
    where += ` AND (t.created_at, t.id) > ($${n + 1}::timestamptz, $${n + 2}::uuid)`;
    n += 2;
  }
  return `SELECT to_jsonb(t) AS r, ct.source_id AS type_source FROM content_items t JOIN content_types ct ON ct.id = t.content_type_id
          WHERE ${where} ORDER BY t.created_at, t.id LIMIT $${n + 1}`;
}

async function loadItem(db: Db, website: RowJson, ref: string, forUpdate = false) {
  const found = await mustFind(db, 'content_items', { user_id: website.user_id, website_id: website.id }, ref, 'Content item', forUpdate);
  const [t] = await db.query(`SELECT source_id FROM content_types WHERE id = $1`, [found.r.content_type_id]);
  return { ...found, typeSource: t.source_id as string };
}

type Body = z.infer<typeof CreateItem>;

/**
 * Reference fields of the item's content type: each value must name an item of the website; it is stored
 * as that item's browser id. The item itself counts (a self-reference is allowed).
 */
async function resolveReferences(m: EntityManager, website: RowJson, type: RowJson, data: Record<string, unknown>, self: string): Promise<Record<string, unknown>> {
  const fields = (contentTypeShape(type).fields as { name?: unknown; type?: unknown }[]).filter((f) => f?.type === 'reference' && typeof f.name === 'string');
  const refs = fields.map((f) => [f.name as string, data[f.name as string]] as const).filter(([, v]) => v !== undefined && v !== null && v !== '');
  if (refs.length === 0) return data;
  const out = { ...data };
  for (const [field, v] of refs) {
    if (typeof v !== 'string') throw Errors.badRequest('invalid_reference', `data.${field} is a reference field: it must be the id of a content item.`, { path: `data.${field}` });
    if (v === self) continue;
    const found = await findRow(m, 'content_items', { user_id: website.user_id, website_id: website.id }, v);
    if (!found) throw Errors.badRequest('invalid_reference', `data.${field} names no content item of this website: ${JSON.stringify(v)}.`, { path: `data.${field}` });
    out[field] = found.r.source_id;
  }
  return out;
}

/** The row for `body`, built by the migration's transform (ids, data: URLs → assets). */
async function buildRow(m: EntityManager, req: DataRequest<unknown, unknown, unknown>, website: RowJson, sourceId: string, body: Body, createdAt: string): Promise<Row> {
  const type = await loadContentType(m, website, body.contentTypeId).catch(() => {
    throw Errors.badRequest('invalid_reference', `contentTypeId names no content type of this website: ${JSON.stringify(body.contentTypeId)}.`, { path: 'contentTypeId' });
  });
  const data = await resolveReferences(m, website, type.r, body.data, sourceId);
  const src = { id: sourceId, contentTypeId: type.r.source_id, data, createdAt, updatedAt: body.updatedAt ?? new Date().toISOString() };
  const ctx = transformContextFor(req.deps.config, req.caller.userId, { id: website.id, sourceId: website.source_id });
  const result = contentItemsTransform({ seq: 0, area: 'localStorage', dbName: null, storeName: null, key: 'content-storage', value: JSON.stringify({ state: { contentItems: [src] }, version: 0 }) }, ctx);
  const row = result.rows?.content_items?.[0];
  const bad = result.rejects?.find((r) => r.code !== 'invalid_data_url');
  if (!row || bad) throw Errors.badRequest('invalid_body', `The content item cannot be stored: ${bad?.reason ?? result.reason}.`, { rejects: result.rejects });
  // Blobs first, in the write's transaction, as a migration page does (jobs/assets.ts says why).
  await storeAssets(m, req.deps.store, result.blobs ?? [], null);
  return { ...row, contentTypeId: type.r.id, status: body.status ?? 'draft' };
}

async function answer(m: Db, website: RowJson, id: string, status = 200) {
  const [x] = await m.query(`${SELECT} WHERE t.id = $1 AND t.website_id = $2`, [id, website.id]);
  return { status, body: contentItemShape(x.r, x.type_source), etag: `"${x.etag}"` };
}

function update(merge: boolean) {
  return (req: DataRequest<ItemP, unknown, Partial<Body>>) =>
    withApiWrite(req, async (m) => {
      const w = await loadWebsite(m, req, req.params.websiteId);
      const cur = await loadItem(m, w.r, req.params.id, true);
      checkIfMatch(req.ifMatch, cur.etag, 'The content item');
      const base = merge ? { contentTypeId: cur.r.content_type_id as string, data: cur.r.data as Record<string, unknown>, status: cur.r.status as 'draft' } : {};
      const body = { ...base, ...req.body } as Body;
      const row = await buildRow(m, req, w.r, cur.r.source_id, body, iso(cur.r.created_at)!);
      await writeApiRows(m, 'content_items', [row]);
      return answer(m, w.r, row.id);
    });
}

const tag = 'Content items';
type ItemP = { websiteId: string; id: string };
export const contentItemRoutes = [
  route({
    method: 'get', path: '/v1/websites/:websiteId/content-items', operationId: 'listContentItems', tag, auth: 'user',
    summary: "A page of a website's content items, oldest first (cursor pagination)", params: WebsiteParams, query: ListQuery,
    responses: { 200: { description: 'One page', schema: ItemPage }, ...errors(400, 401, 403, 404) },
    handler: async (req: DataRequest<{ websiteId: string }, z.infer<typeof ListQuery>>) => {
      const db = req.db;
      const w = await loadWebsite(db, req, req.params.websiteId);
      const args: unknown[] = [w.r.id, req.caller.userId];
      if (req.query.contentTypeId !== undefined) {
        const type = await findRow(db, 'content_types', { user_id: req.caller.userId, website_id: w.r.id }, req.query.contentTypeId);
        if (!type) throw Errors.notFound(`Content type ${JSON.stringify(req.query.contentTypeId)}`);
        args.push(type.r.id);
      }
      if (req.query.cursor) {
        args.push(...decodeTimeCursor(req.query.cursor));
      }
      args.push(req.query.limit + 1);
      const rows: { r: RowJson; type_source: string }[] = await db.query(itemsPageSql({ byType: req.query.contentTypeId !== undefined, cursor: !!req.query.cursor }), args);
      const page = rows.slice(0, req.query.limit);
      const last = page[page.length - 1];
      return { body: { items: page.map((x) => contentItemShape(x.r, x.type_source)), nextCursor: rows.length > page.length ? encodeCursor([last.r.created_at, last.r.id]) : null } };
    },
  }),
  route({
    method: 'post', path: '/v1/websites/:websiteId/content-items', operationId: 'createContentItem', tag, auth: 'user',
    summary: 'Create a content item', params: WebsiteParams, body: CreateItem,
    responses: { 201: { description: 'Created', schema: ContentItem, headers: { ...ETAG_HEADER, Location: 'URL of the new item' } }, ...errors(400, 401, 403, 404, 409, 415) },
    examples: [{ summary: 'A blog post', request: { sourceId: '1754982000000_r5t6y7u8i', contentTypeId: '1754981000123_k3j9x2m1q', data: { title: 'Hello world', heroImage: 'https://images.example.com/hero.jpg' } } }],
    handler: async (req: DataRequest<{ websiteId: string }, unknown, Body>) =>
      withApiWrite(req, async (m) => {
        const w = await loadWebsite(m, req, req.params.websiteId);
        const sourceId = req.body.sourceId ?? randomUUID();
        const now = new Date().toISOString();
        const row = await buildRow(m, req, w.r, sourceId, { ...req.body, updatedAt: req.body.updatedAt ?? req.body.createdAt ?? now }, req.body.createdAt ?? now);
        const [taken] = await m.query(`SELECT website_id FROM content_items WHERE id = $1`, [row.id]);
        if (taken) throw new AppError(409, 'already_exists', `A content item with id ${JSON.stringify(sourceId)} exists already${taken.website_id === w.r.id ? '' : ' (in another website)'}; update it instead.`, { id: row.id });
        await writeApiRows(m, 'content_items', [row]);
        const out = await answer(m, w.r, row.id, 201);
        return { ...out, headers: { Location: `/v1/websites/${w.r.id}/content-items/${row.id}` } };
      }),
  }),
  route({
    method: 'get', path: '/v1/websites/:websiteId/content-items/:id', operationId: 'getContentItem', tag, auth: 'user', snapshot: true,
    summary: 'Get a content item', params: WebsiteItemParams, requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The item', schema: ContentItem, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req: DataRequest<ItemP>) => {
      const w = await loadWebsite(req.db, req, req.params.websiteId);
      const it = await loadItem(req.db, w.r, req.params.id);
      return { body: contentItemShape(it.r, it.typeSource), etag: it.etag };
    },
  }),
  route({
    method: 'put', path: '/v1/websites/:websiteId/content-items/:id', operationId: 'replaceContentItem', tag, auth: 'user',
    summary: 'Replace a content item', params: WebsiteItemParams, body: ReplaceItem, requestHeaders: IF_MATCH,
    responses: { 200: { description: 'Updated', schema: ContentItem, headers: ETAG_HEADER }, ...errors(400, 401, 403, 404, 412, 415) },
    handler: update(false),
  }),
  route({
    method: 'patch', path: '/v1/websites/:websiteId/content-items/:id', operationId: 'updateContentItem', tag, auth: 'user',
    summary: 'Change some of a content item (data is replaced as a whole when given)', params: WebsiteItemParams, body: PatchItem, requestHeaders: IF_MATCH,
    responses: { 200: { description: 'Updated', schema: ContentItem, headers: ETAG_HEADER }, ...errors(400, 401, 403, 404, 412, 415) },
    examples: [{ summary: 'Publish', request: { status: 'published' } }],
    handler: update(true),
  }),
  route({
    method: 'delete', path: '/v1/websites/:websiteId/content-items/:id', operationId: 'deleteContentItem', tag, auth: 'user',
    summary: 'Delete a content item', params: WebsiteItemParams, requestHeaders: IF_MATCH,
    responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404, 412) },
    handler: async (req: DataRequest<ItemP>) =>
      withApiWrite(req, async (m) => {
        const w = await loadWebsite(m, req, req.params.websiteId);
        const cur = await loadItem(m, w.r, req.params.id, true);
        checkIfMatch(req.ifMatch, cur.etag, 'The content item');
        await deleteApiRows(m, 'content_items', req.caller.userId, [cur.r.id]);
        return { status: 204 };
      }),
  }),
];
