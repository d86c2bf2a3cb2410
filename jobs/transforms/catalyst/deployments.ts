/**
 * Deployment data (docs/catalyst-layout.md §2.6, §2.7, §4):
 *  - `cms-provider-configs` (L6) → one `deployment_configs` row per provider. It holds the ONLY
 *    secrets of the app (§4: `config.apiKey` in plaintext). Every config field whose NAME looks secret
 *    (/key|token|secret|password/i, so `apiKey` and any newer token field) is replaced by
 *    `ctx.seal(value, '<rowId>:<field path>')`; a non-string secret is sealed as its JSON text.
 *    No reason, note or reject of this kind ever repeats a stored value (dates included).
 *    createdAt = updatedAt = lastConnected when valid, else 1970-01-01T00:00:00Z (unknown): the app
 *    records no creation time and transforms stay deterministic.
 *  - `deployment-history` (L7) → one `deployment_history` row per job (bare array, newest first; the
 *    `{deployments, lastUpdated}` type is tolerated and noted). Old and newer DeploymentJob shapes
 *    (`websiteId`, `integrationId`, providers 'contentstack' | 'mock', ...) are kept: every field without
 *    a column goes to `metadata`. Log timestamps are validated and kept verbatim. History holds no
 *    secrets (§4), so it is not sealed.
 */
import type { ElementReject, Row, SourceEntry, TransformContext, TransformResult } from '../types';
import { readDate, requireDate, unknownDate } from './dates';
import { type Obj, finish, fits, isRecord, otherKeys, parseJson, rejected, row } from './util';

export const SECRET_FIELD = /key|token|secret|password/i;

/** A copy of `config` with secret-named fields sealed (at any depth, arrays included); `sealed` collects their paths. */
function sealSecrets(v: Obj, rowId: string, ctx: TransformContext, sealed: string[], prefix = ''): Obj {
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (SECRET_FIELD.test(k) && x !== undefined && x !== null) {
      out[k] = ctx.seal(typeof x === 'string' ? x : JSON.stringify(x), `${rowId}:${path}`);
      sealed.push(path);
    } else {
      out[k] = sealNested(x, rowId, ctx, sealed, path);
    }
  }
  return out;
}

function sealNested(x: unknown, rowId: string, ctx: TransformContext, sealed: string[], path: string): unknown {
  if (Array.isArray(x)) return x.map((el, i) => sealNested(el, rowId, ctx, sealed, `${path}[${i}]`));
  return isRecord(x) ? sealSecrets(x, rowId, ctx, sealed, path) : x;
}

export function transformConfigs(entry: SourceEntry, ctx: TransformContext): TransformResult {
  const parsed = parseJson(entry.value);
  if (!parsed.ok) return rejected(parsed.reason);
  if (!isRecord(parsed.value)) return rejected('cms-provider-configs is not a JSON object keyed by provider id (docs/catalyst-layout.md §2.6)');
  const websiteId = ctx.globalWebsite?.id ?? null;
  const rejects: ElementReject[] = [];
  const sealedFields: Record<string, string[]> = {};
  const unmapped: Record<string, string[]> = {};
  const undated: string[] = [];
  const rows: Row[] = [];
  for (const [provider, rec] of Object.entries(parsed.value)) {
    if (!fits(provider, 50, 'provider id', rejects)) continue; // never echo the key itself: length only
    if (!isRecord(rec) || !isRecord(rec.config)) {
      rejects.push({ path: provider, code: 'invalid_config', reason: `${provider} has no {config: {...}} object` });
      continue;
    }
    const id = ctx.id('deployment_config', provider);
    const sealed: string[] = [];
    const config = sealSecrets(rec.config, id, ctx, sealed);
    const last = readDate(rec.lastConnected, `${provider}.lastConnected`, rejects, false);
    const expiry = readDate(rec.connectionExpiry, `${provider}.connectionExpiry`, rejects, false);
    const lastConnectedAt = last instanceof Date ? last : null;
    if (!lastConnectedAt) undated.push(provider);
    const extra = otherKeys(rec, ['config', 'lastConnected', 'connectionExpiry']);
    if (extra.length) unmapped[provider] = extra;
    if (sealed.length) sealedFields[provider] = sealed;
    rows.push(row(ctx, id, provider, {
      websiteId,
      provider,
      config,
      lastConnectedAt,
      connectionExpiresAt: expiry instanceof Date ? expiry : null,
      createdAt: lastConnectedAt ?? unknownDate(),
      updatedAt: lastConnectedAt ?? unknownDate(),
    }));
  }
  const notes: Obj = {};
  if (Object.keys(sealedFields).length) notes.deploymentConfigSealedFields = sealedFields; // names only, never values
  if (Object.keys(unmapped).length) notes.deploymentConfigUnmappedKeys = unmapped;
  if (undated.length) notes.deploymentConfigUndated = { providers: undated, rule: 'no valid lastConnected: created/updated set to 1970-01-01T00:00:00Z (unknown)' };
  if (!websiteId && rows.length) notes.deploymentConfigWebsite = 'no global website: deployment configs are not attached to a website';
  return finish({ rows: { deployment_configs: rows }, rejects, notes }, 'no provider configured');
}

const JOB_COLUMNS = ['id', 'providerId', 'status', 'startedAt', 'completedAt', 'websiteId'];

function job(src: unknown, path: string, ctx: TransformContext, rejects: ElementReject[]): Row | undefined {
  if (!isRecord(src)) return void rejects.push({ path, code: 'invalid_job', reason: `${path} is not an object` });
  if (typeof src.id !== 'string' || src.id === '') return void rejects.push({ path, code: 'missing_id', reason: `${path} has no string id` });
  if (typeof src.providerId !== 'string' || src.providerId === '') {
    return void rejects.push({ path, code: 'missing_provider', reason: `${path} has no providerId` });
  }
  if (typeof src.status !== 'string' || src.status === '') return void rejects.push({ path, code: 'missing_status', reason: `${path} has no status` });
  if (!fits(src.providerId, 50, `${path}.providerId`, rejects) || !fits(src.status, 50, `${path}.status`, rejects)) return undefined;
  const deployedAt = requireDate(src.startedAt, `${path}.startedAt`, rejects);
  const completed = readDate(src.completedAt, `${path}.completedAt`, rejects);
  if (Array.isArray(src.logs)) {
    src.logs.forEach((l, j) => {
      if (isRecord(l)) readDate(l.timestamp, `${path}.logs[${j}].timestamp`, rejects); // validated, kept verbatim
    });
  }
  if (!deployedAt) return undefined;
  const metadata: Obj = Object.fromEntries(otherKeys(src, JOB_COLUMNS).map((k) => [k, src[k]]));
  const ownWebsite = typeof src.websiteId === 'string' && src.websiteId !== '';
  if (ownWebsite) metadata.websiteSourceId = src.websiteId;
  return row(ctx, ctx.id('deployment', src.id), src.id, {
    // Newer jobs name their website; older ones belong to the global website. The pipeline nulls
    // websiteId / deploymentConfigId when the referenced row does not exist.
    websiteId: ownWebsite ? ctx.websiteId(src.websiteId as string) : (ctx.globalWebsite?.id ?? null),
    deploymentConfigId: ctx.id('deployment_config', src.providerId),
    provider: src.providerId,
    status: src.status,
    metadata,
    deployedAt,
    completedAt: completed instanceof Date ? completed : null,
  });
}

export function transformHistory(entry: SourceEntry, ctx: TransformContext): TransformResult {
  const parsed = parseJson(entry.value);
  if (!parsed.ok) return rejected(parsed.reason);
  const v = parsed.value;
  const notes: Obj = {};
  let jobs: unknown[];
  let base = '';
  if (Array.isArray(v)) jobs = v;
  else if (isRecord(v) && Array.isArray(v.deployments)) {
    jobs = v.deployments;
    base = 'deployments';
    notes.deploymentHistoryShape = '{deployments, lastUpdated} object (the DeploymentHistory type), accepted';
  } else return rejected('deployment-history is not a JSON array of deployment jobs (docs/catalyst-layout.md §2.7)');

  const rejects: ElementReject[] = [];
  const seen = new Set<string>();
  const rows: Row[] = [];
  jobs.forEach((src, i) => {
    const path = `${base}[${i}]`;
    const r = job(src, path, ctx, rejects);
    if (!r) return;
    if (seen.has(r.sourceId)) {
      // Newest first (unshift): the first occurrence is the latest state of that job.
      return void rejects.push({ path, code: 'duplicate_id', reason: `${path} repeats the id of a newer job; the newer one was kept` });
    }
    seen.add(r.sourceId);
    rows.push(r);
  });
  return finish({ rows: { deployment_history: rows }, rejects, notes }, 'deployment-history is empty');
}
