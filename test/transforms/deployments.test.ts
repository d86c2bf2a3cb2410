import { SecretBox } from '../../core/crypto';
import { transformConfigs, transformHistory } from '../../jobs/transforms/catalyst/deployments';
import { CONTENTFUL_KEY, ls, makeCtx, oldJob, providerConfigs, STRAPI_KEY } from './fixtures';

describe('cms-provider-configs (§2.6, §4)', () => {
  test('one row per provider; apiKey sealed with the real SecretBox and never present in plain text', () => {
    const { ctx, box } = makeCtx();
    const r = transformConfigs(ls('cms-provider-configs', JSON.stringify(providerConfigs)), ctx);
    const text = JSON.stringify(r);
    expect(text).not.toContain(CONTENTFUL_KEY);
    expect(text).not.toContain(STRAPI_KEY);
    const [contentful, strapi] = r.rows!.deployment_configs!;
    const cfId = ctx.id('deployment_config', 'contentful');
    expect(contentful).toMatchObject({
      id: cfId, userId: 'user-1', sourceId: 'contentful', websiteId: ctx.globalWebsite!.id, provider: 'contentful',
      lastConnectedAt: new Date('2025-08-12T08:00:00.000Z'), connectionExpiresAt: new Date('2025-08-13T08:00:00.000Z'),
      createdAt: new Date('2025-08-12T08:00:00.000Z'), updatedAt: new Date('2025-08-12T08:00:00.000Z'),
    });
    const cfConfig = contentful.config as Record<string, unknown>;
    expect(cfConfig).toMatchObject({ workspace: 'abc123xyz', environment: 'master' });
    expect(SecretBox.isSealed(cfConfig.apiKey)).toBe(true);
    expect(box.open(cfConfig.apiKey as never, `${cfId}:apiKey`)).toBe(CONTENTFUL_KEY);
    // strapi: never connected → the documented 1970 sentinel, and it is noted.
    expect(strapi).toMatchObject({ provider: 'strapi', lastConnectedAt: null, connectionExpiresAt: null, createdAt: new Date(0) });
    expect(box.open((strapi.config as { apiKey: never }).apiKey, `${strapi.id}:apiKey`)).toBe(STRAPI_KEY);
    expect(r.notes).toMatchObject({ deploymentConfigSealedFields: { contentful: ['apiKey'], strapi: ['apiKey'] }, deploymentConfigUndated: { providers: ['strapi'] } });
  });

  test('any secret-looking field is sealed, at any depth; non-strings too', () => {
    const { ctx } = makeCtx();
    const cfg = { contentstack: { config: { deliveryToken: 'dt-secret-1', managementPassword: 'pw-secret-2', nested: { clientSecret: 'cs-secret-3' }, numericKey: 123456789, region: 'eu', environments: [{ name: 'prod', deliveryToken: 'arr-secret-4' }] } } };
    const r = transformConfigs(ls('cms-provider-configs', JSON.stringify(cfg)), ctx);
    const text = JSON.stringify(r);
    for (const s of ['dt-secret-1', 'pw-secret-2', 'cs-secret-3', '123456789', 'arr-secret-4']) expect(text).not.toContain(s);
    expect(text).toContain('"name":"prod"');
    expect((r.rows!.deployment_configs![0].config as Record<string, unknown>).region).toBe('eu');
  });

  test('rejects and reasons never repeat stored values', () => {
    const { ctx } = makeCtx();
    const broken = `{"contentful":{"config":{"apiKey":"${CONTENTFUL_KEY}"`;
    const r1 = transformConfigs(ls('cms-provider-configs', broken), ctx);
    expect(r1.outcome).toBe('rejected');
    expect(JSON.stringify(r1)).not.toContain(CONTENTFUL_KEY);
    const r2 = transformConfigs(ls('cms-provider-configs', JSON.stringify({ contentful: { config: { apiKey: CONTENTFUL_KEY }, lastConnected: CONTENTFUL_KEY } })), ctx);
    expect(r2.rejects).toEqual([expect.objectContaining({ path: 'contentful.lastConnected', code: 'invalid_date' })]);
    expect(JSON.stringify(r2)).not.toContain(CONTENTFUL_KEY);
    const r3 = transformConfigs(ls('cms-provider-configs', JSON.stringify({ strapi: 'x' })), ctx);
    expect(r3.rejects).toEqual([expect.objectContaining({ path: 'strapi', code: 'invalid_config' })]);
  });

  test('no global website → configs kept with websiteId null, noted', () => {
    const r = transformConfigs(ls('cms-provider-configs', JSON.stringify(providerConfigs)), makeCtx({ global: false }).ctx);
    expect(r.rows!.deployment_configs!.map((x) => x.websiteId)).toEqual([null, null]);
    expect(r.notes).toHaveProperty('deploymentConfigWebsite');
  });
});

describe('deployment-history (§2.7)', () => {
  const { ctx } = makeCtx();
  const newJob = {
    id: 'deploy-1754990000000-retry-1', providerId: 'contentstack', status: 'failed', progress: 40, startedAt: '2025-08-12T09:00:00.000Z',
    logs: [{ timestamp: 'bad', level: 'error', message: 'boom' }], error: 'boom', websiteId: 'website_9_z', integrationId: 'int-1',
    providerDisplayName: 'Contentstack', selectedTypes: ['BlogPost'], initiatedBy: 'me', options: { bypassValidation: true },
  };

  test('old and newer job shapes → rows; extra fields in metadata', () => {
    const r = transformHistory(ls('deployment-history', JSON.stringify([newJob, oldJob])), ctx);
    const [n, o] = r.rows!.deployment_history!;
    expect(o).toEqual({
      id: ctx.id('deployment', oldJob.id), userId: 'user-1', sourceId: oldJob.id,
      websiteId: ctx.globalWebsite!.id, deploymentConfigId: ctx.id('deployment_config', 'contentful'), provider: 'contentful', status: 'completed',
      metadata: { progress: 100, retryCount: 0, maxRetries: 3, logs: oldJob.logs },
      deployedAt: new Date('2025-08-12T08:00:00.000Z'), completedAt: new Date('2025-08-12T08:00:31.412Z'),
    });
    expect(n).toMatchObject({
      websiteId: ctx.websiteId('website_9_z'), deploymentConfigId: ctx.id('deployment_config', 'contentstack'), provider: 'contentstack', completedAt: null,
      metadata: { integrationId: 'int-1', selectedTypes: ['BlogPost'], options: { bypassValidation: true }, websiteSourceId: 'website_9_z', error: 'boom', logs: newJob.logs },
    });
    expect(r.rejects).toEqual([expect.objectContaining({ path: '[0].logs[0].timestamp', code: 'invalid_date' })]);
  });

  test('invalid startedAt → row not written; duplicates keep the newest (first)', () => {
    const r = transformHistory(ls('deployment-history', JSON.stringify([{ ...oldJob, startedAt: 'x' }, oldJob, { ...oldJob, status: 'failed' }, { id: 'j' }])), ctx);
    expect(r.rejects!.map((x) => [x.path, x.code])).toEqual([['[0].startedAt', 'invalid_date'], ['[2]', 'duplicate_id'], ['[3]', 'missing_provider']]);
    expect(r.rows!.deployment_history!.map((x) => x.status)).toEqual(['completed']);
  });

  test('the DeploymentHistory object shape is tolerated; other shapes rejected', () => {
    expect(transformHistory(ls('deployment-history', JSON.stringify({ deployments: [oldJob], lastUpdated: 'x' })), ctx).rows!.deployment_history).toHaveLength(1);
    expect(transformHistory(ls('deployment-history', '{"a":1}'), ctx).outcome).toBe('rejected');
    expect(transformHistory(ls('deployment-history', '[]'), ctx).outcome).toBe('migrated');
  });
});
