/**
 * /v1/websites/:websiteId/content-types — the plan's own example routes. Shaped as the app's `ContentType`
 * (localStorage `contentTypes`): relationships name content types by the ids the browser used. Rows are
 * built by the migration's own transform (jobs/transforms/catalyst/contentTypes.ts). Names are unique per
 * website (the app deduplicates by name on load); slugs get a `-2`… suffix when two names slug alike.
 * Deleting a content type deletes its items (ON DELETE CASCADE), as its items cannot exist without it.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { AppError, Errors } from '../../../core/errors';
import { transform as contentTypesTransform } from '../../../jobs/transforms/catalyst/contentTypes';
import type { Row } from '../../../jobs/transforms/types';
import { deleteApiRows, writeApiRows } from '../../../jobs/write/apiRows';
import { transformContextFor } from '../context';
import { checkIfMatch } from '../etag';
import { route, type DataRequest } from '../route';
import { compact, findRow, iso, isUuid, mustFind, type Db, type Loaded, type RowJson } from '../rows';
import { ETAG_HEADER, IF_MATCH, IsoDate, JsonObject, SourceId, WebsiteItemParams, WebsiteParams, errors, IF_NONE_MATCH } from '../schemas';
import { withApiWrite } from '../write';
import { loadWebsite } from './websites';

const FieldType = z.enum(['text', 'number', 'boolean', 'date', 'image', 'richText', 'reference']);
const Field = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1),
  label: z.string(),
  type: FieldType,
  required: z.boolean(),
  defaultValue: z.unknown().optional(),
  validation: JsonObject.optional(),
  helpText: z.string().optional(),
  placeholder: z.string().optional(),
  options: z.array(z.strictObject({ label: z.string(), value: z.union([z.string(), z.number(), z.boolean()]), description: z.string().optional() })).optional(),
  order: z.number(),
});
const Relationship = z.strictObject({
  id: z.string().min(1),
  name: z.string(),
  type: z.enum(['oneToOne', 'oneToMany', 'manyToOne', 'manyToMany']),
  sourceContentTypeId: z.string().min(1).describe('A content type of this website: server id or browser id'),
  targetContentTypeId: z.string().min(1).describe('A content type of this website: server id or browser id'),
  sourceFieldName: z.string().optional(),
  targetFieldName: z.string().optional(),
  fieldName: z.string().optional(),
  isRequired: z.boolean(),
});
const Fields = {
  name: z.string().min(1).max(255).describe('PascalCase in the app; unique per website'),
  pluralName: z.string().optional().describe('Default: name + "s"'),
  icon: z.string().optional().describe('Default: 📋'),
  description: z.string().optional(),
  fields: z.array(Field).optional(),
  relationships: z.array(Relationship).optional(),
  createdAt: IsoDate.optional(),
  updatedAt: IsoDate.optional(),
};
const CreateContentType = z.strictObject({ sourceId: SourceId.optional(), ...Fields });
const ReplaceContentType = z.strictObject(Fields);

export const ContentType = z
  .object({
    id: z.uuid(), sourceId: z.string(), websiteId: z.uuid(), name: z.string(), pluralName: z.string().optional(), icon: z.string().optional(),
    description: z.string().optional(), fields: z.array(z.unknown()), relationships: z.array(z.unknown()), createdAt: IsoDate, updatedAt: IsoDate, slug: z.string().nullable(),
  })
  .catchall(z.unknown())
  .describe('ContentType as the app stored it; relationships name content types by the browser ids');

/** Row → ContentType: relationship ids back to the ids the browser used; `schema.extra` back on top. */
export function contentTypeShape(r: RowJson) {
  const schema = (r.schema ?? {}) as Record<string, unknown>;
  const rels = Array.isArray(schema.relationships) ? schema.relationships : [];
  return {
    ...((schema.extra as object) ?? {}),
    ...compact({ pluralName: schema.pluralName, icon: schema.icon, description: schema.description }),
    id: r.id,
    sourceId: r.source_id,
    websiteId: r.website_id as string,
    name: r.name as string,
    fields: Array.isArray(schema.fields) ? schema.fields : [],
    relationships: rels.map((rel) => {
      if (typeof rel !== 'object' || rel === null) return rel;
      const { sourceContentTypeSourceId, targetContentTypeSourceId, ...rest } = rel as Record<string, unknown>;
      return { ...rest, sourceContentTypeId: sourceContentTypeSourceId ?? rest.sourceContentTypeId, targetContentTypeId: targetContentTypeSourceId ?? rest.targetContentTypeId };
    }),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    slug: r.slug as string | null,
  };
}

export function loadContentType(db: Db, website: RowJson, ref: string, forUpdate = false): Promise<Loaded> {
  return mustFind(db, 'content_types', { user_id: website.user_id, website_id: website.id }, ref, 'Content type', forUpdate);
}

type Body = z.infer<typeof CreateContentType>;

/**
 * The row for `body`, built by the migration's transform. Relationship references given as server ids
 * are turned into the browser ids first; each must name a content type of this website (or this one).
 */
async function buildRow(m: EntityManager, req: DataRequest<unknown, unknown, unknown>, website: RowJson, sourceId: string, body: Partial<Body>, dates: { createdAt: string; updatedAt: string }): Promise<Row> {
  const types: { id: string; source_id: string }[] = await m.query(`SELECT id, source_id FROM content_types WHERE website_id = $1 AND user_id = $2`, [website.id, website.user_id]);
  const bySource = new Map(types.map((t) => [t.source_id, t.id]));
  const byId = new Map(types.map((t) => [t.id, t.source_id]));
  const relationships = (body.relationships ?? []).map((rel, i) => {
    const fix = (v: string, key: string) => {
      const src = isUuid(v) && byId.has(v) ? byId.get(v)! : v;
      if (src !== sourceId && !bySource.has(src)) {
        throw Errors.badRequest('invalid_reference', `relationships[${i}].${key} names no content type of this website: ${JSON.stringify(v)}.`, { path: `relationships.${i}.${key}` });
      }
      return src;
    };
    return { ...rel, sourceContentTypeId: fix(rel.sourceContentTypeId, 'sourceContentTypeId'), targetContentTypeId: fix(rel.targetContentTypeId, 'targetContentTypeId') };
  });
  const name = body.name!;
  const src = { pluralName: `${name}s`, icon: '📋', fields: [], ...compact(body as Record<string, unknown>), relationships, id: sourceId, ...dates };
  delete (src as Record<string, unknown>).sourceId;
  const ctx = transformContextFor(req.deps.config, req.caller.userId, { id: website.id, sourceId: website.source_id });
  const result = contentTypesTransform({ seq: 0, area: 'localStorage', dbName: null, storeName: null, key: 'contentTypes', value: JSON.stringify([src]) }, ctx);
  const row = result.rows?.content_types?.[0];
  if (!row || result.rejects?.length) throw Errors.badRequest('invalid_body', `The content type cannot be stored: ${result.rejects?.[0]?.reason ?? result.reason}.`, { rejects: result.rejects });
  const [dup] = await m.query(`SELECT id FROM content_types WHERE website_id = $1 AND name = $2 AND id <> $3`, [website.id, name, row.id]);
  if (dup) throw new AppError(409, 'duplicate_name', `This website already has a content type named ${JSON.stringify(name)} (names are unique per website, as the app deduplicates by name).`, { id: dup.id });
  const slugs: { slug: string }[] = await m.query(`SELECT slug FROM content_types WHERE website_id = $1 AND id <> $2 AND slug IS NOT NULL`, [website.id, row.id]);
  const used = new Set(slugs.map((s) => s.slug));
  let slug = row.slug as string;
  for (let n = 2; used.has(slug); n++) slug = `${row.slug}-${n}`;
  return { ...row, slug };
}

async function answer(m: Db, website: RowJson, id: string, status = 200) {
  const t = (await findRow(m, 'content_types', { website_id: website.id, user_id: website.user_id }, id))!;
  return { status, body: contentTypeShape(t.r), etag: t.etag };
}

const tag = 'Content types';
type WebsiteP = { websiteId: string };
type ItemP = { websiteId: string; id: string };
export const contentTypeRoutes = [
  route({
    method: 'get', path: '/v1/websites/:websiteId/content-types', operationId: 'listContentTypes', tag, auth: 'user',
    summary: "List a website's content types (oldest first)", params: WebsiteParams,
    responses: { 200: { description: 'The content types', schema: z.array(ContentType) }, ...errors(401, 403, 404) },
    handler: async (req: DataRequest<WebsiteP>) => {
      const w = await loadWebsite(req.db, req, req.params.websiteId);
      const rows: { r: RowJson }[] = await req.db.query(
        `SELECT to_jsonb(t) AS r FROM content_types t WHERE t.website_id = $1 AND t.user_id = $2 ORDER BY t.created_at, t.id`, [w.r.id, req.caller.userId]);
      return { body: rows.map((x) => contentTypeShape(x.r)) };
    },
  }),
  route({
    method: 'post', path: '/v1/websites/:websiteId/content-types', operationId: 'createContentType', tag, auth: 'user',
    summary: 'Create a content type', params: WebsiteParams, body: CreateContentType,
    responses: { 201: { description: 'Created', schema: ContentType, headers: { ...ETAG_HEADER, Location: 'URL of the new content type' } }, ...errors(400, 401, 403, 404, 409, 415) },
    examples: [{
      summary: 'A blog post type',
      request: { sourceId: '1754981000123_k3j9x2m1q', name: 'BlogPost', pluralName: 'BlogPosts', icon: '📋', fields: [{ id: '1754981005555_a8d7f6s5d', name: 'title', label: 'Title', type: 'text', required: true, order: 0 }], relationships: [] },
    }],
    handler: async (req: DataRequest<WebsiteP, unknown, Body>) =>
      withApiWrite(req, async (m) => {
        const w = await loadWebsite(m, req, req.params.websiteId);
        const now = new Date().toISOString();
        const sourceId = req.body.sourceId ?? randomUUID();
        const row = await buildRow(m, req, w.r, sourceId, req.body, { createdAt: req.body.createdAt ?? now, updatedAt: req.body.updatedAt ?? now });
        const [taken] = await m.query(`SELECT website_id FROM content_types WHERE id = $1`, [row.id]);
        if (taken) throw new AppError(409, 'already_exists', `A content type with id ${JSON.stringify(sourceId)} exists already${taken.website_id === w.r.id ? '' : ' (in another website)'}; update it instead.`, { id: row.id });
        await writeApiRows(m, 'content_types', [row]);
        const out = await answer(m, w.r, row.id, 201);
        return { ...out, headers: { Location: `/v1/websites/${w.r.id}/content-types/${row.id}` } };
      }),
  }),
  route({
    method: 'get', path: '/v1/websites/:websiteId/content-types/:id', operationId: 'getContentType', tag, auth: 'user',
    summary: 'Get a content type', params: WebsiteItemParams, requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The content type', schema: ContentType, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req: DataRequest<ItemP>) => {
      const w = await loadWebsite(req.db, req, req.params.websiteId);
      const t = await loadContentType(req.db, w.r, req.params.id);
      return { body: contentTypeShape(t.r), etag: t.etag };
    },
  }),
  route({
    method: 'put', path: '/v1/websites/:websiteId/content-types/:id', operationId: 'replaceContentType', tag, auth: 'user',
    summary: 'Replace a content type', params: WebsiteItemParams, body: ReplaceContentType, requestHeaders: IF_MATCH,
    responses: { 200: { description: 'Updated', schema: ContentType, headers: ETAG_HEADER }, ...errors(400, 401, 403, 404, 409, 412, 415) },
    handler: async (req: DataRequest<ItemP, unknown, Body>) =>
      withApiWrite(req, async (m) => {
        const w = await loadWebsite(m, req, req.params.websiteId);
        const cur = await loadContentType(m, w.r, req.params.id, true);
        checkIfMatch(req.ifMatch, cur.etag, 'The content type');
        const row = await buildRow(m, req, w.r, cur.r.source_id, req.body, { createdAt: req.body.createdAt ?? iso(cur.r.created_at)!, updatedAt: req.body.updatedAt ?? new Date().toISOString() });
        await writeApiRows(m, 'content_types', [row]);
        return answer(m, w.r, row.id);
      }),
  }),
  route({
    method: 'delete', path: '/v1/websites/:websiteId/content-types/:id', operationId: 'deleteContentType', tag, auth: 'user',
    summary: 'Delete a content type and its items', params: WebsiteItemParams, requestHeaders: IF_MATCH,
    responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404, 412) },
    handler: async (req: DataRequest<ItemP>) =>
      withApiWrite(req, async (m) => {
        const w = await loadWebsite(m, req, req.params.websiteId);
        const cur = await loadContentType(m, w.r, req.params.id, true);
        checkIfMatch(req.ifMatch, cur.etag, 'The content type');
        await deleteApiRows(m, 'content_types', req.caller.userId, [cur.r.id]);
        return { status: 204 };
      }),
  }),
];
