/**
 * /v1/deployment-configs and /v1/deployment-history — the app's `cms-provider-configs` and
 * `deployment-history` (docs/catalyst-layout.md §2.6, §2.7), global per user, optionally attached to a website.
 *
 * Configs hold the app's only secrets (§4). Rows are built by the migration's `transformConfigs`, so every
 * field whose name looks secret is sealed exactly as a migration seals it (same id, same AAD). No response
 * ever carries a secret: each sealed value is answered as `"********"` and its path is listed in
 * `maskedFields`. A PUT that sends `"********"` back where a secret is stored keeps that secret: it is opened
 * and handed to the transform again, and sealing is deterministic (core/crypto.ts), so the stored envelope
 * does not change. History is read-only here: the app appends jobs, the migration brought them over.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { SecretBox } from '../../../core/crypto';
import { AppError, Errors } from '../../../core/errors';
import { rowId } from '../../../core/ids';
import { SECRET_FIELD, transformConfigs } from '../../../jobs/transforms/catalyst/deployments';
import type { Row } from '../../../jobs/transforms/types';
import { deleteApiRows, writeApiRows } from '../../../jobs/write/apiRows';
import { secretsOf, transformContextFor } from '../context';
import { checkIfMatch } from '../etag';
import { route, type DataRequest } from '../route';
import { compact, decodeTimeCursor, encodeCursor, findRow, iso, mustFind, type Db, type Loaded, type RowJson } from '../rows';
import { Cursor, ETAG_HEADER, IF_MATCH, IdParams, IsoDate, JsonObject, Limit, Ref, errors, IF_NONE_MATCH } from '../schemas';
import { withApiWrite } from '../write';
import { loadWebsite } from './websites';

export const MASK = '********';

const Fields = {
  config: JsonObject.describe('CMSProviderConfig. Secret-named fields (key, token, secret, password) are stored encrypted; send "********" to keep a stored one'),
  lastConnected: IsoDate.optional(),
  connectionExpiry: IsoDate.optional(),
  websiteId: Ref.nullable().optional().describe('Attach to this website (server or browser id); absent or null: not attached'),
};
const Provider = z.string().min(1).max(50).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only').describe("CMSProviderId, e.g. 'contentful'");
const CreateConfig = z.strictObject({ provider: Provider, ...Fields });
const ReplaceConfig = z.strictObject(Fields);
type Body = z.infer<typeof ReplaceConfig>;

const ConfigOut = z.object({
  id: z.uuid(), sourceId: z.string().describe('The provider id (the key the app stored it under)'), provider: z.string(), websiteId: z.uuid().nullable(),
  config: JsonObject.describe('Secrets answered as "********"'), lastConnected: IsoDate.optional(), connectionExpiry: IsoDate.optional(),
  maskedFields: z.array(z.string()).describe('Paths of the masked fields in config, e.g. apiKey, auth.token, items[0].password'),
  createdAt: IsoDate, updatedAt: IsoDate,
});
const JobOut = z.object({
  id: z.uuid(), sourceId: z.string().describe('The job id the app used (deploy-<ms>)'), providerId: z.string(), status: z.string(),
  startedAt: IsoDate, completedAt: IsoDate.optional(), websiteId: z.string().optional().describe("The website's browser id, when the app's job named one"),
  websiteServerId: z.uuid().nullable(), progress: z.number().optional(), logs: z.array(z.unknown()).optional(), error: z.string().optional(),
  retryCount: z.number().optional(), maxRetries: z.number().optional(),
}).catchall(z.unknown()).describe('DeploymentJob as the app stored it');
const JobPage = z.object({ items: z.array(JobOut), nextCursor: z.string().nullable().describe('null on the last page') });
const HistoryQuery = z.strictObject({ websiteId: Ref.optional().describe('Only jobs of this website'), cursor: Cursor, limit: Limit });

/** A copy of a stored config with every sealed value masked; `paths` collects where (the transform's path syntax). */
function mask(v: unknown, path: string, paths: string[]): unknown {
  if (SecretBox.isSealed(v)) {
    paths.push(path);
    return MASK;
  }
  if (Array.isArray(v)) return v.map((x, i) => mask(x, `${path}[${i}]`, paths));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x, path ? `${path}.${k}` : k, paths)]));
  return v;
}

/**
 * The body's config with each `"********"` replaced by the plaintext stored at the same path, so the
 * transform re-seals the same secret. A mask where nothing is stored under a secret-named field is refused:
 * storing the mask itself as the secret would silently erase the real one.
 */
function unmask(v: unknown, stored: unknown, path: string, key: string, id: string, box: SecretBox): unknown {
  if (v === MASK) {
    if (SecretBox.isSealed(stored)) return box.open(stored, `${id}:${path}`);
    if (SECRET_FIELD.test(key)) throw Errors.badRequest('invalid_body', `config.${path} is "${MASK}" but no secret is stored there; send the real value.`, { path: `config.${path}` });
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => unmask(x, Array.isArray(stored) ? stored[i] : undefined, `${path}[${i}]`, key, id, box));
  if (v !== null && typeof v === 'object') {
    const s = (stored ?? {}) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unmask(x, s[k], path ? `${path}.${k}` : k, k, id, box)]));
  }
  return v;
}

export function configShape(r: RowJson) {
  const maskedFields: string[] = [];
  const config = mask(r.config, '', maskedFields);
  return {
    id: r.id, sourceId: r.source_id, provider: r.provider as string, websiteId: (r.website_id as string | null) ?? null, config,
    ...compact({ lastConnected: iso(r.last_connected_at), connectionExpiry: iso(r.connection_expires_at) }),
    maskedFields: maskedFields.sort(), createdAt: iso(r.created_at)!, updatedAt: iso(r.updated_at)!,
  };
}

const loadConfig = (db: Db, req: DataRequest<unknown, unknown, unknown>, ref: string, forUpdate = false) =>
  mustFind(db, 'deployment_configs', { user_id: req.caller.userId }, ref, 'Deployment config', forUpdate);

/** The row for `provider` from the body, built by transformConfigs (secrets sealed with the row's id as AAD). */
async function buildRow(m: Db, req: DataRequest<unknown, unknown, unknown>, provider: string, body: Body, cur: Loaded | null): Promise<Row> {
  const website = body.websiteId ? (await loadWebsite(m, req, body.websiteId)).r : null;
  const id = rowId(req.caller.userId, 'deployment_config', provider);
  const config = unmask(body.config, cur?.r.config, '', '', id, secretsOf(req.deps.config));
  const value = JSON.stringify({ [provider]: { config, lastConnected: body.lastConnected, connectionExpiry: body.connectionExpiry } });
  const ctx = transformContextFor(req.deps.config, req.caller.userId, website ? { id: website.id, sourceId: website.source_id } : null);
  const result = transformConfigs({ seq: 0, area: 'localStorage', dbName: null, storeName: null, key: 'cms-provider-configs', value }, ctx);
  const row = result.rows?.deployment_configs?.[0];
  if (!row || result.rejects?.length) throw Errors.badRequest('invalid_body', `The deployment config cannot be stored: ${result.rejects?.[0]?.reason ?? result.reason}.`, { rejects: result.rejects });
  const now = new Date();
  const old = cur?.r;
  // Unchanged (same sealed envelopes, dates and website) keeps updatedAt, so a masked round trip changes nothing.
  const same = old !== undefined && isDeepStrictEqual(JSON.parse(JSON.stringify(row.config)), old.config) && (old.website_id ?? null) === row.websiteId
    && iso(old.last_connected_at) === (body.lastConnected ? new Date(body.lastConnected).toISOString() : null)
    && iso(old.connection_expires_at) === (body.connectionExpiry ? new Date(body.connectionExpiry).toISOString() : null);
  return { ...row, createdAt: old ? new Date(old.created_at as string) : now, updatedAt: same ? new Date(old.updated_at as string) : now };
}

async function answerConfig(m: Db, userId: string, id: string, status = 200) {
  const c = (await findRow(m, 'deployment_configs', { user_id: userId }, id))!;
  return { status, body: configShape(c.r), etag: c.etag };
}

/** Row → DeploymentJob: metadata fields back on top, `websiteSourceId` back to the app's `websiteId`. */
export function jobShape(r: RowJson) {
  const { websiteSourceId, ...meta } = (r.metadata ?? {}) as Record<string, unknown>;
  return {
    ...meta,
    id: r.id, sourceId: r.source_id, providerId: r.provider as string, status: r.status as string, startedAt: iso(r.deployed_at)!,
    ...compact({ completedAt: iso(r.completed_at), websiteId: websiteSourceId }),
    websiteServerId: (r.website_id as string | null) ?? null,
  };
}

async function historyPage(req: DataRequest<unknown, z.infer<typeof HistoryQuery>>) {
  const db = req.deps.ds;
  const args: unknown[] = [req.caller.userId];
  let where = 't.user_id = $1';
  if (req.query.websiteId !== undefined) {
    args.push((await loadWebsite(db, req, req.query.websiteId)).r.id);
    where += ` AND t.website_id = $${args.length}`;
  }
  if (req.query.cursor) {
    args.push(...decodeTimeCursor(req.query.cursor));
    where += ` AND (t.deployed_at, t.id) < ($${args.length - 1}::timestamptz, $${args.length}::uuid)`;
  }
  args.push(req.query.limit + 1);
  // Newest first, keyset on (deployed_at, id): idx_deployment_history_user_page serves it.
  const rows: { r: RowJson }[] = await db.query(`SELECT to_jsonb(t) AS r FROM deployment_history t WHERE ${where} ORDER BY t.deployed_at DESC, t.id DESC LIMIT $${args.length}`, args);
  const page = rows.slice(0, req.query.limit);
  const last = page[page.length - 1];
  return { body: { items: page.map((x) => jobShape(x.r)), nextCursor: rows.length > page.length ? encodeCursor([last.r.deployed_at, last.r.id]) : null } };
}

const tag = 'Deployments';
type IdP = { id: string };
const CONTENTFUL = { provider: 'contentful', config: { apiKey: 'CFPAT-…', workspace: 'abc123xyz', environment: 'master' }, lastConnected: '2025-08-12T08:00:00.000Z', connectionExpiry: '2025-08-13T08:00:00.000Z' };
export const deploymentRoutes = [
  route({
    method: 'get', path: '/v1/deployment-configs', operationId: 'listDeploymentConfigs', tag, auth: 'user',
    summary: "List the user's CMS provider configs (secrets masked)",
    responses: { 200: { description: 'The configs, by provider', schema: z.array(ConfigOut) }, ...errors(401, 403) },
    handler: async (req) => {
      const rows: { r: RowJson }[] = await req.db.query(`SELECT to_jsonb(t) AS r FROM deployment_configs t WHERE t.user_id = $1 ORDER BY t.provider, t.id`, [req.caller.userId]);
      return { body: rows.map((x) => configShape(x.r)) };
    },
  }),
  route({
    method: 'post', path: '/v1/deployment-configs', operationId: 'createDeploymentConfig', tag, auth: 'user',
    summary: 'Add a CMS provider config', body: CreateConfig,
    description: 'One config per provider: 409 if the provider has one already (replace it with PUT).',
    responses: { 201: { description: 'Created (secrets masked)', schema: ConfigOut, headers: { ...ETAG_HEADER, Location: 'URL of the new config' } }, ...errors(400, 401, 403, 404, 409, 415) },
    examples: [{ summary: 'Contentful', request: CONTENTFUL }],
    handler: async (req: DataRequest<unknown, unknown, z.infer<typeof CreateConfig>>) =>
      withApiWrite(req, async (m) => {
        const { provider, ...body } = req.body;
        const row = await buildRow(m, req, provider, body, null);
        const [taken] = await m.query(`SELECT id FROM deployment_configs WHERE id = $1`, [row.id]);
        if (taken) throw new AppError(409, 'already_exists', `A config for provider ${JSON.stringify(provider)} exists already; replace it with PUT.`, { id: row.id });
        await writeApiRows(m, 'deployment_configs', [row]);
        return { ...(await answerConfig(m, req.caller.userId, row.id, 201)), headers: { Location: `/v1/deployment-configs/${row.id}` } };
      }),
  }),
  route({
    method: 'get', path: '/v1/deployment-configs/:id', operationId: 'getDeploymentConfig', tag, auth: 'user',
    summary: 'Get a CMS provider config (by server id or provider id; secrets masked)', params: IdParams,
    requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The config', schema: ConfigOut, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req: DataRequest<IdP>) => {
      const c = await loadConfig(req.db, req, req.params.id);
      return { body: configShape(c.r), etag: c.etag };
    },
  }),
  route({
    method: 'put', path: '/v1/deployment-configs/:id', operationId: 'replaceDeploymentConfig', tag, auth: 'user',
    summary: 'Replace a CMS provider config ("********" keeps a stored secret)', params: IdParams, body: ReplaceConfig, requestHeaders: IF_MATCH,
    responses: { 200: { description: 'Updated (secrets masked)', schema: ConfigOut, headers: ETAG_HEADER }, ...errors(400, 401, 403, 404, 412, 415) },
    examples: [{ summary: 'Change the environment, keep the key', request: { config: { apiKey: MASK, workspace: 'abc123xyz', environment: 'staging' } } }],
    handler: async (req: DataRequest<IdP, unknown, Body>) =>
      withApiWrite(req, async (m) => {
        const cur = await loadConfig(m, req, req.params.id, true);
        checkIfMatch(req.ifMatch, cur.etag, 'The deployment config');
        const row = await buildRow(m, req, cur.r.provider as string, req.body, cur);
        await writeApiRows(m, 'deployment_configs', [row]);
        return answerConfig(m, req.caller.userId, row.id);
      }),
  }),
  route({
    method: 'delete', path: '/v1/deployment-configs/:id', operationId: 'deleteDeploymentConfig', tag, auth: 'user',
    summary: 'Delete a CMS provider config (its history stays, unlinked)', params: IdParams, requestHeaders: IF_MATCH,
    responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404, 412) },
    handler: async (req: DataRequest<IdP>) =>
      withApiWrite(req, async (m) => {
        const cur = await loadConfig(m, req, req.params.id, true);
        checkIfMatch(req.ifMatch, cur.etag, 'The deployment config');
        await deleteApiRows(m, 'deployment_configs', req.caller.userId, [cur.r.id]);
        return { status: 204 };
      }),
  }),
  route({
    method: 'get', path: '/v1/deployment-history', operationId: 'listDeploymentHistory', tag, auth: 'user',
    summary: 'A page of deployment jobs, newest first (cursor pagination)', query: HistoryQuery,
    responses: { 200: { description: 'One page', schema: JobPage }, ...errors(400, 401, 403, 404) },
    handler: historyPage,
  }),
  route({
    method: 'get', path: '/v1/deployment-history/:id', operationId: 'getDeploymentJob', tag, auth: 'user',
    summary: 'Get a deployment job (by server id or the app\'s job id)', params: IdParams,
    requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The job', schema: JobOut, headers: ETAG_HEADER }, ...errors(304, 401, 403, 404) },
    handler: async (req: DataRequest<IdP>) => {
      const j = await mustFind(req.db, 'deployment_history', { user_id: req.caller.userId }, req.params.id, 'Deployment job');
      return { body: jobShape(j.r), etag: j.etag };
    },
  }),
];
