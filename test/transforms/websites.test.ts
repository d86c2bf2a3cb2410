import { catalystLayout, mergeWebsite } from '../../jobs/transforms/catalyst';
import { transform as websiteTransform } from '../../jobs/transforms/catalyst/websites';
import { aiContext, idb, makeCtx, section, WEBSITE_ID, websiteConfig, websiteMeta } from './fixtures';

const { ctx } = makeCtx();
const rowIdOf = (sourceId: string) => ctx.websiteId(sourceId);

describe('mergeWebsite (docs/catalyst-layout.md §2.11)', () => {
  test('metadata + config → one row; the config id:"main" quirk is dropped', () => {
    const r = mergeWebsite(websiteMeta(), websiteConfig(), WEBSITE_ID, ctx);
    const id = rowIdOf(WEBSITE_ID);
    expect(r.rejects).toEqual([]);
    expect(r.rows!.websites).toEqual([{
      id, userId: 'user-1', sourceId: WEBSITE_ID, name: 'Coffee Shop',
      slug: `coffee-shop-${id.replace(/-/g, '').slice(0, 8)}`,
      description: 'Create a coffee shop website with online ordering and payments', category: 'ecommerce', icon: null,
      storageQuota: '104857600',
      metadata: { settings: websiteConfig().settings, theme: websiteConfig().theme },
      createdAt: new Date('2025-08-12T07:00:34.567Z'), updatedAt: new Date('2025-08-12T07:00:35.100Z'),
    }]);
    expect(JSON.stringify(r.rows)).not.toContain('"main"');
  });

  test('config without metadata still makes a row, named after the source id, dated by the rule', () => {
    const r = mergeWebsite(null, websiteConfig(), WEBSITE_ID, ctx);
    const w = r.rows!.websites![0];
    expect(w).toMatchObject({ name: `Website ${WEBSITE_ID}`, description: null, storageQuota: null, createdAt: new Date(0), updatedAt: new Date(0) });
    // One note per website under its own key: the pipeline merges batch notes key by key.
    expect(r.notes).toEqual({ [`website:${WEBSITE_ID}`]: { withoutMetadata: expect.any(String), withoutName: true, dateRule: expect.stringContaining('1970') } });
  });

  test('without metadata, the earliest section date is used when sections are given', () => {
    const content = { id: 'main', pages: [{ id: 'p1', title: 'Home', slug: 'home', content: '', createdAt: new Date('2025-08-12T09:00:00Z'), updatedAt: new Date('2025-08-13T00:00:00Z') }] };
    const r = mergeWebsite(null, null, WEBSITE_ID, ctx, { content, aiContext: aiContext() });
    expect(r.rows!.websites![0]).toMatchObject({ createdAt: new Date('2025-08-12T07:00:34.600Z'), updatedAt: new Date('2025-08-12T07:00:34.600Z') });
  });

  test('metadata without config', () => {
    const r = mergeWebsite(websiteMeta(), null, WEBSITE_ID, ctx);
    expect(r.rows!.websites![0].metadata).toEqual({});
  });

  test('an invalid Date (decoded as new Date(NaN)) is reported, not guessed into a value silently', () => {
    const meta = { ...websiteMeta(), createdAt: new Date(NaN) };
    const r = mergeWebsite(meta, null, WEBSITE_ID, ctx);
    expect(r.rejects).toEqual([expect.objectContaining({ path: 'createdAt', code: 'invalid_date' })]);
    const w = r.rows!.websites![0];
    expect(w.createdAt).toEqual(new Date(0));
    expect(w.updatedAt).toEqual(new Date('2025-08-12T07:00:35.100Z'));
  });

  test('the website_default_* quirk: no metadata and empty sections → preserved, no row', () => {
    const r = mergeWebsite(null, { id: 'main', settings: {}, metadata: {} }, 'default', ctx, {
      content: { id: 'main', pages: [], components: [], templates: [] },
      aiContext: { id: 'main', brandIdentity: undefined, history: [] },
    });
    expect(r.outcome).toBe('preserved');
    expect(r.rows).toBeUndefined();
    // …but a 'default' website with real content keeps its row.
    const real = mergeWebsite(null, { id: 'main', settings: { a: 1 } }, 'default', ctx);
    expect(real.rows!.websites![0].name).toBe('Website default');
  });

  test('duplicate "My Website" names get distinct slugs (the random-id quirk of §2.1)', () => {
    const a = mergeWebsite({ id: 'website_1_a', name: 'My Website', category: 'default', storageQuota: 52428800, createdAt: new Date(1), lastModified: new Date(2) }, null, 'website_1_a', ctx);
    const b = mergeWebsite({ id: 'website_2_b', name: 'My Website', category: 'default', storageQuota: 52428800, createdAt: new Date(1), lastModified: new Date(2) }, null, 'website_2_b', ctx);
    expect(a.rows!.websites![0].slug).not.toEqual(b.rows!.websites![0].slug);
    expect(a.rows!.websites![0].slug).toMatch(/^my-website-[0-9a-f]{8}$/);
  });

  test('a name longer than the column is cut and kept whole in metadata', () => {
    const r = mergeWebsite({ ...websiteMeta(), name: 'x'.repeat(300) }, null, WEBSITE_ID, ctx);
    expect(r.rows!.websites![0].name).toHaveLength(255);
    expect(r.rows!.websites![0].metadata).toEqual({ originalName: 'x'.repeat(300) });
  });
});

describe('the websites group of catalystLayout', () => {
  const run = catalystLayout.groupTransforms.website!.run;

  test('metadata and config entries of one website → one row, carried by the metadata entry', () => {
    const meta = idb('catalyst_global', 'websites', WEBSITE_ID, websiteMeta());
    const config = section(WEBSITE_ID, 'config', websiteConfig());
    const other = idb('catalyst_global', 'websites', 'website_2_b', { id: 'website_2_b', name: 'Other', storageQuota: 1, createdAt: new Date(5), lastModified: new Date(6) });
    const out = run([config, meta, other], ctx);
    expect(out.get(meta.seq)!.rows!.websites).toHaveLength(1);
    expect(out.get(meta.seq)!.rows!.websites![0].metadata).toMatchObject({ theme: { primary: '#10B981' } });
    expect(out.get(config.seq)).toEqual({ outcome: 'migrated', rejects: [], ridesOn: meta.seq });
    expect(out.get(other.seq)!.rows!.websites![0].name).toBe('Other');
  });

  test('a config-only website: the config entry carries the row', () => {
    const config = section('website_9_z', 'config', websiteConfig());
    const out = run([config], ctx);
    expect(out.get(config.seq)!.rows!.websites![0].sourceId).toBe('website_9_z');
  });

  test('a metadata value that is not an object is rejected', () => {
    const bad = idb('catalyst_global', 'websites', 'website_x', 'oops');
    const out = run([bad], ctx);
    expect(out.get(bad.seq)).toMatchObject({ outcome: 'rejected' });
  });

  test('single-entry transform for a lone website entry', () => {
    const r = websiteTransform(idb('catalyst_global', 'websites', WEBSITE_ID, websiteMeta()), ctx);
    expect(r.rows!.websites![0].id).toBe(rowIdOf(WEBSITE_ID));
  });
});
