/**
 * /v1/websites — the user's websites, shaped as the app's `WebsiteMetadata` (catalyst_global/websites),
 * plus the website's config section at /v1/websites/:websiteId/config (`WebsiteConfig`). Rows are built by
 * the same `mergeWebsite` the migration uses. Deleting a website deletes everything that belongs to it
 * (content types and items, storage sections, AI data, its deployment configs and history), as the app's
 * own delete removed the website's databases.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError, Errors } from '../../../core/errors';
import { mergeWebsite } from '../../../jobs/transforms/catalyst';
import type { ConfigRecord, WebsiteMetaRecord } from '../../../jobs/transforms/catalyst/websites';
import { deleteApiRows, writeApiRows } from '../../../jobs/write/apiRows';
import { transformContextFor } from '../context';
import { checkIfMatch } from '../etag';
import { route, type DataRequest } from '../route';
import { compact, findRow, iso, mustFind, type Db, type Loaded, type RowJson } from '../rows';
import { ETAG_HEADER, IF_MATCH, IdParams, IsoDate, JsonObject, SourceId, WebsiteParams, errors, IF_NONE_MATCH } from '../schemas';
import { withApiWrite } from '../write';

const WebsiteFields = {
  name: z.string().min(1).max(255),
  description: z.string().nullable().optional(),
  category: z.string().max(100).nullable().optional(),
  icon: z.string().max(2000).nullable().optional(),
  storageQuota: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
  createdAt: IsoDate.optional(),
  lastModified: IsoDate.optional(),
};
const WebsiteConfigBody = z.strictObject({
  settings: JsonObject.optional(),
  theme: z.unknown().optional(),
  metadata: JsonObject.optional(),
});
const CreateWebsite = z.strictObject({ sourceId: SourceId.optional(), ...WebsiteFields, config: WebsiteConfigBody.optional() });
const ReplaceWebsite = z.strictObject(WebsiteFields);
const PatchWebsite = z.strictObject({ ...WebsiteFields, name: WebsiteFields.name.optional() });

export const Website = z
  .object({
    id: z.uuid(),
    sourceId: z.string(),
    name: z.string(),
    description: z.string().optional(),
    category: z.string().optional(),
    icon: z.string().optional(),
    storageQuota: z.number().optional(),
    createdAt: IsoDate,
    lastModified: IsoDate,
    slug: z.string().describe('Server-side: unique per user'),
  })
  .catchall(z.unknown())
  .describe('WebsiteMetadata as the app stored it; `id` is the server id, the browser\'s id is `sourceId`');
const WebsiteConfig = z.object({ id: z.uuid(), sourceId: z.string(), settings: JsonObject.optional(), theme: z.unknown().optional(), metadata: JsonObject.optional() }).catchall(z.unknown());

/** Row → WebsiteMetadata. Full names and categories longer than their columns come back from metadata. */
export function websiteShape(r: RowJson): z.infer<typeof Website> {
  const meta = (r.metadata ?? {}) as Record<string, unknown>;
  return {
    ...((meta.sourceExtra as object) ?? {}),
    ...compact({
      id: r.id,
      sourceId: r.source_id,
      name: (meta.originalName as string) ?? (r.name as string),
      description: r.description as string | null,
      category: (meta.originalCategory as string) ?? (r.category as string | null),
      icon: r.icon as string | null,
      storageQuota: r.storage_quota === null ? null : Number(r.storage_quota),
    }),
    createdAt: iso(r.created_at)!,
    lastModified: iso(r.updated_at)!,
    slug: r.slug as string,
  } as z.infer<typeof Website>;
}

/** The config section as the app stored it (`{...config, id:'main'}` without the 'main'). */
export function configOf(r: RowJson): ConfigRecord {
  const meta = (r.metadata ?? {}) as Record<string, unknown>;
  const out: ConfigRecord = { ...((meta.configExtra as object) ?? {}) };
  for (const k of ['settings', 'theme', 'metadata']) if (meta[k] !== undefined) out[k] = meta[k];
  if (meta.configId !== undefined) out.id = meta.configId;
  return out;
}

/** The metadata record the app would hold for this row (the input of mergeWebsite). */
function metaOf(r: RowJson): WebsiteMetaRecord {
  const s = websiteShape(r);
  const { id: _id, sourceId, slug: _slug, ...rest } = s;
  return { ...rest, id: sourceId };
}

/** The caller's website named by `ref` (server id or browser id), or 404. */
export function loadWebsite(db: Db, req: DataRequest<unknown, unknown, unknown>, ref: string, forUpdate = false): Promise<Loaded> {
  return mustFind(db, 'websites', { user_id: req.caller.userId }, ref, 'Website', forUpdate);
}

function buildRow(req: DataRequest<unknown, unknown, unknown>, meta: WebsiteMetaRecord, config: ConfigRecord | null, sourceId: string) {
  const result = mergeWebsite(meta, config, sourceId, transformContextFor(req.deps.config, req.caller.userId, null));
  const row = result.rows?.websites?.[0];
  if (!row || result.rejects?.length) throw Errors.badRequest('invalid_body', `The website cannot be stored: ${result.rejects?.[0]?.reason ?? result.reason}.`, { rejects: result.rejects });
  return row;
}

async function answer(db: Db, userId: string, id: string, status = 200) {
  const w = (await findRow(db, 'websites', { user_id: userId }, id))!;
  return { status, body: websiteShape(w.r), etag: w.etag };
}

type Body = z.infer<typeof CreateWebsite>;
const metaFrom = (sourceId: string, b: Partial<Body>, now: string): WebsiteMetaRecord =>
  ({ ...compact({ name: b.name, description: b.description, category: b.category, icon: b.icon, storageQuota: b.storageQuota }), id: sourceId, createdAt: b.createdAt ?? now, lastModified: b.lastModified ?? now });

async function update(req: DataRequest<{ id: string }, unknown, Partial<Body>>, merge: boolean) {
  return withApiWrite(req, async (m) => {
    const cur = await loadWebsite(m, req, req.params.id, true);
    checkIfMatch(req.ifMatch, cur.etag, 'The website');
    const now = new Date().toISOString();
    const base = merge ? metaOf(cur.r) : { id: cur.r.source_id, createdAt: iso(cur.r.created_at) };
    const meta = { ...base, ...compact(req.body as Record<string, unknown>), lastModified: req.body.lastModified ?? now } as WebsiteMetaRecord;
    for (const [k, v] of Object.entries(req.body)) if (v === null) delete meta[k];
    const cfg = configOf(cur.r);
    await writeApiRows(m, 'websites', [buildRow(req, meta, Object.keys(cfg).length ? cfg : null, cur.r.source_id)]);
    return answer(m, req.caller.userId, cur.r.id);
  });
}

const tag = 'Websites';
export const websiteRoutes = [
  route({
    method: 'get', path: '/v1/websites', operationId: 'listWebsites', tag, auth: 'user',
    summary: "List the user's websites (oldest first)",
    responses: { 200: { description: 'The websites', schema: z.array(Website) }, ...errors(401, 403) },
    handler: async (req) => {
      const rows: { r: RowJson }[] = await req.db.query(`SELECT to_jsonb(t) AS r FROM websites t WHERE t.user_id = $1 ORDER BY t.created_at, t.id`, [req.caller.userId]);
      return { body: rows.map((x) => websiteShape(x.r)) };
    },
  }),
  route({
    method: 'post', path: '/v1/websites', operationId: 'createWebsite', tag, auth: 'user',
    summary: 'Create a website',
    description: 'Give `sourceId` to keep an id the browser already uses (a website with that id must not exist yet: 409).',
    body: CreateWebsite,
    responses: { 201: { description: 'Created', schema: Website, headers: { ...ETAG_HEADER, Location: 'URL of the new website' } }, ...errors(400, 401, 403, 409, 415) },
    examples: [{
      summary: 'A website created from the dashboard',
      request: { sourceId: 'website_1754981234567_k2j8d9x0q', name: 'Coffee Shop', description: 'Online ordering', category: 'ecommerce', storageQuota: 104857600 },
      response: { id: '2f1d3c4b-5a69-5788-9aab-bccddeeff001', sourceId: 'website_1754981234567_k2j8d9x0q', name: 'Coffee Shop', description: 'Online ordering', category: 'ecommerce', storageQuota: 104857600, createdAt: '2025-08-12T07:00:34.567Z', lastModified: '2025-08-12T07:00:34.567Z', slug: 'coffee-shop-2f1d3c4b' },
    }],
    handler: async (req: DataRequest<unknown, unknown, Body>) => {
      const sourceId = req.body.sourceId ?? randomUUID();
      const now = new Date().toISOString();
      const row = buildRow(req, metaFrom(sourceId, req.body, now), req.body.config ? { ...req.body.config } : null, sourceId);
      return withApiWrite(req, async (m) => {
        const [taken] = await m.query(`SELECT id FROM websites WHERE id = $1`, [row.id]);
        if (taken) throw new AppError(409, 'already_exists', `A website with id ${JSON.stringify(sourceId)} exists already; update it instead.`, { id: row.id });
        await writeApiRows(m, 'websites', [row]);
        const out = await answer(m, req.caller.userId, row.id, 201);
        return { ...out, headers: { Location: `/v1/websites/${row.id}` } };
      });
    },
  }),
  route({
    method: 'get', path: '/v1/websites/:id', operationId: 'getWebsite', tag, auth: 'user',
    summary: 'Get a website', params: IdParams,
    requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The website', schema: Website, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req) => {
      const w = await loadWebsite(req.db, req, req.params.id);
      return { body: websiteShape(w.r), etag: w.etag };
    },
  }),
  route({
    method: 'put', path: '/v1/websites/:id', operationId: 'replaceWebsite', tag, auth: 'user',
    summary: "Replace a website's metadata (its config and data stay)", params: IdParams, body: ReplaceWebsite, requestHeaders: IF_MATCH,
    responses: { 200: { description: 'Updated', schema: Website, headers: ETAG_HEADER }, ...errors(400, 401, 403, 404, 412, 415) },
    handler: (req) => update(req, false),
  }),
  route({
    method: 'patch', path: '/v1/websites/:id', operationId: 'updateWebsite', tag, auth: 'user',
    summary: "Change some of a website's metadata (null removes an optional field)", params: IdParams, body: PatchWebsite, requestHeaders: IF_MATCH,
    responses: { 200: { description: 'Updated', schema: Website, headers: ETAG_HEADER }, ...errors(400, 401, 403, 404, 412, 415) },
    examples: [{ summary: 'Rename', request: { name: 'Bean There' } }],
    handler: (req) => update(req, true),
  }),
  route({
    method: 'delete', path: '/v1/websites/:id', operationId: 'deleteWebsite', tag, auth: 'user',
    summary: 'Delete a website and everything that belongs to it', params: IdParams, requestHeaders: IF_MATCH,
    responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404, 412) },
    handler: async (req) =>
      withApiWrite(req, async (m) => {
        const cur = await loadWebsite(m, req, req.params.id, true);
        checkIfMatch(req.ifMatch, cur.etag, 'The website');
        await deleteApiRows(m, 'websites', req.caller.userId, [cur.r.id]);
        return { status: 204 };
      }),
  }),
  route({
    method: 'get', path: '/v1/websites/:websiteId/config', operationId: 'getWebsiteConfig', tag, auth: 'user',
    summary: "Get a website's config section (WebsiteConfig: settings, theme, metadata)", params: WebsiteParams,
    responses: { 200: { description: 'The config', schema: WebsiteConfig, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req) => {
      const w = await loadWebsite(req.db, req, req.params.websiteId);
      return { body: { ...configOf(w.r), id: w.r.id, sourceId: w.r.source_id }, etag: w.etag };
    },
  }),
  route({
    method: 'put', path: '/v1/websites/:websiteId/config', operationId: 'replaceWebsiteConfig', tag, auth: 'user',
    summary: "Replace a website's config section", params: WebsiteParams, body: WebsiteConfigBody, requestHeaders: IF_MATCH,
    responses: { 200: { description: 'The new config', schema: WebsiteConfig, headers: ETAG_HEADER }, ...errors(400, 401, 403, 404, 412, 415) },
    examples: [{ summary: 'Theme and features', request: { settings: { features: ['payments'] }, theme: { primary: '#10B981', darkMode: true } } }],
    handler: async (req: DataRequest<{ websiteId: string }, unknown, z.infer<typeof WebsiteConfigBody>>) =>
      withApiWrite(req, async (m) => {
        const cur = await loadWebsite(m, req, req.params.websiteId, true);
        checkIfMatch(req.ifMatch, cur.etag, 'The website');
        await writeApiRows(m, 'websites', [buildRow(req, { ...metaOf(cur.r), lastModified: new Date().toISOString() }, { ...req.body }, cur.r.source_id)]);
        const w = (await findRow(m, 'websites', { user_id: req.caller.userId }, cur.r.id))!;
        return { body: { ...configOf(w.r), id: w.r.id, sourceId: w.r.source_id }, etag: w.etag };
      }),
  }),
];
