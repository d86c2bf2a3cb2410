import { createHash } from 'node:crypto';
import { transform } from '../../jobs/transforms/catalyst/websiteStorage';
import { makeCtx, PNG_B64, PNG_DATA_URL, section, WEBSITE_ID } from './fixtures';

const { ctx } = makeCtx();
const websiteId = ctx.websiteId(WEBSITE_ID);

describe('website_<id>_content (docs/catalyst-layout.md §2.11)', () => {
  const content = {
    id: 'main',
    pages: [
      { id: 'p1', title: 'Home', slug: 'home', content: '<h1>Hi</h1>', metadata: { seo: true }, createdAt: new Date('2025-08-12T07:00:00Z'), updatedAt: '2025-08-12T08:00:00.000Z' },
      { id: 'p2', title: 'Blocks', slug: 'blocks', content: { blocks: [1] }, createdAt: new Date(NaN), updatedAt: new Date('2025-08-12T08:00:00Z') },
      { title: 'No id', slug: 'x', content: '' },
    ],
    components: [{ id: 'c1', name: 'Hero', type: 'section', props: { title: 'x' }, children: [{ id: 'c2', name: 'Btn', type: 'button', props: {} }] }],
    templates: [{ id: 't1', name: 'Landing', structure: { a: 1 }, variables: ['title'] }],
  };

  test('pages, components and templates, with position and deterministic ids', () => {
    const r = transform(section(WEBSITE_ID, 'content', content), ctx);
    const pages = r.rows!.website_pages!;
    expect(pages.map((p) => [p.position, p.sourceId, p.title])).toEqual([[0, 'p1', 'Home'], [1, 'p2', 'Blocks'], [2, 'pages[2]', 'No id']]);
    expect(pages[0]).toMatchObject({ id: ctx.id('website_page', WEBSITE_ID, 'p1'), websiteId, content: '<h1>Hi</h1>', metadata: { seo: true },
      createdAt: new Date('2025-08-12T07:00:00Z'), updatedAt: new Date('2025-08-12T08:00:00Z') });
    expect(pages[1]).toMatchObject({ content: '{"blocks":[1]}', createdAt: null, metadata: {} });
    expect(pages[2].id).toBe(ctx.id('website_page', WEBSITE_ID, '2'));
    expect(r.rejects).toEqual([expect.objectContaining({ path: 'pages[1].createdAt', code: 'invalid_date' })]);
    expect(r.rows!.website_components).toEqual([expect.objectContaining({
      id: ctx.id('website_component', WEBSITE_ID, 'c1'), position: 0, name: 'Hero', type: 'section', props: { title: 'x' }, children: content.components[0].children,
    })]);
    expect(r.rows!.website_templates).toEqual([expect.objectContaining({ name: 'Landing', description: null, structure: { a: 1 }, variables: ['title'] })]);
  });

  test('the default empty section of a real website is migrated with no rows', () => {
    const r = transform(section(WEBSITE_ID, 'content', { id: 'main', pages: [], components: [], templates: [] }), ctx);
    expect(r.outcome).toBe('migrated');
  });

  test('website_default_* with empty defaults is preserved (the §2.1 quirk)', () => {
    const r = transform(section('default', 'content', { id: 'main', pages: [], components: [], templates: [] }), ctx);
    expect(r).toMatchObject({ outcome: 'preserved', reason: expect.stringContaining('website_default_') });
  });

  test('not an array → invalid_shape reject', () => {
    const r = transform(section(WEBSITE_ID, 'content', { id: 'main', pages: 'nope' }), ctx);
    expect(r.rejects).toEqual([expect.objectContaining({ path: 'pages', code: 'invalid_shape' })]);
  });
});

describe('website_<id>_assets', () => {
  test('kinds, positions, data: URLs moved to blobs', () => {
    const r = transform(section(WEBSITE_ID, 'assets', { id: 'main', images: ['https://x/a.png', PNG_DATA_URL], videos: ['https://x/v.mp4'], documents: [42] }), ctx);
    const sha = createHash('sha256').update(Buffer.from(PNG_B64, 'base64')).digest('hex');
    expect(r.rows!.website_assets!.map((a) => [a.kind, a.position, a.url, a.sourceId])).toEqual([
      ['image', 0, 'https://x/a.png', 'images[0]'],
      ['image', 1, ctx.assetUrl(sha), 'images[1]'],
      ['video', 0, 'https://x/v.mp4', 'videos[0]'],
    ]);
    expect(r.blobs!.map((b) => b.sha256)).toEqual([sha]);
    expect(r.rejects).toEqual([expect.objectContaining({ path: 'documents[0]', code: 'invalid_asset' })]);
  });
});

test('a text column from an IndexedDB value of any shape: bigints as decimal text, a data "toString" does not throw (found by properties.test.ts)', () => {
  const pages = [{ id: 'p', title: { toString: [1] }, content: { n: 12345678901234567890n } }, { id: 'q', title: 7n }];
  const r = transform(section(WEBSITE_ID, 'content', { id: 'main', pages }), makeCtx().ctx);
  expect(r.rows!.website_pages!.map((p) => [p.title, p.content])).toEqual([['{"toString":[1]}', '{"n":"12345678901234567890"}'], ['7', '']]);
});
