import { createHash } from 'node:crypto';
import { transform } from '../../jobs/transforms/catalyst/contentItems';
import { contentStorage, ls, makeCtx, PNG_B64, PNG_DATA_URL } from './fixtures';

const { ctx } = makeCtx({ aliases: { dropped_type: '1754981000123_k3j9x2m1q' } });
const entry = (v: unknown) => ls('content-storage', JSON.stringify(v));
const item = (over: Record<string, unknown> = {}) => ({ ...contentStorage.state.contentItems[0], ...over });
const envelope = (items: unknown[]) => ({ state: { contentItems: items, projectId: 'default' }, version: 0 });

describe('content-storage (docs/catalyst-layout.md §2.3)', () => {
  test('the Zustand envelope → content_items; data kept verbatim (reference ids not remapped)', () => {
    const r = transform(entry(contentStorage), ctx);
    expect(r.rejects).toEqual([]);
    expect(r.rows!.content_items).toEqual([{
      id: ctx.id('content_item', '1754982000000_r5t6y7u8i'), userId: 'user-1', sourceId: '1754982000000_r5t6y7u8i',
      contentTypeId: ctx.contentTypeId('1754981000123_k3j9x2m1q'), websiteId: ctx.globalWebsite!.id,
      data: { title: 'Hello world', heroImage: 'https://images.example.com/hero.jpg', author: '1754981200000_h4g5f6d7s' },
      status: 'draft', createdAt: new Date('2025-08-12T07:13:20.000Z'), updatedAt: new Date('2025-08-12T07:13:20.000Z'),
    }]);
    expect(r.blobs).toBeUndefined();
  });

  test('a bare array (older shape) is accepted and noted', () => {
    const r = transform(entry([item()]), ctx);
    expect(r.rows!.content_items).toHaveLength(1);
    expect(r.notes).toMatchObject({ contentItemsShape: expect.stringContaining('bare array') });
  });

  test('contentTypeId follows the dedupe alias through ctx', () => {
    const r = transform(entry(envelope([item({ contentTypeId: 'dropped_type' })])), ctx);
    expect(r.rows!.content_items![0].contentTypeId).toBe(ctx.contentTypeId('1754981000123_k3j9x2m1q'));
  });

  test('an inline data: image moves to a blob and the string becomes the asset URL', () => {
    const r = transform(entry(envelope([item({ data: { heroImage: PNG_DATA_URL, gallery: [PNG_DATA_URL] } })])), ctx);
    const sha = createHash('sha256').update(Buffer.from(PNG_B64, 'base64')).digest('hex');
    expect(r.blobs).toEqual([{ sha256: sha, contentType: 'image/png', bytes: Buffer.from(PNG_B64, 'base64') }]);
    expect(r.rows!.content_items![0].data).toEqual({ heroImage: ctx.assetUrl(sha), gallery: [ctx.assetUrl(sha)] });
  });

  test('a malformed data: URL → invalid_data_url reject; the item is kept with the original string', () => {
    const bad = 'data:image/png;base64,@@not-base64@@';
    const r = transform(entry(envelope([item({ data: { heroImage: bad, note: 'data: is not a URL here' } })])), ctx);
    expect(r.rejects).toEqual([expect.objectContaining({ path: 'state.contentItems[0].data.heroImage', code: 'invalid_data_url' })]);
    expect(r.rejects![0].reason).not.toContain('@@not-base64@@');
    expect(r.rows!.content_items![0].data).toEqual({ heroImage: bad, note: 'data: is not a URL here' });
  });

  test('missing contentTypeId, missing id, invalid date → element rejects; the rest is written', () => {
    const r = transform(entry(envelope([
      item({ id: 'a', contentTypeId: undefined }),
      item({ id: undefined }),
      item({ id: 'c', updatedAt: 'not a date' }),
      item({ id: 'd', createdAt: new Date('2025-08-12T07:13:20.000Z').toISOString() }),
      item({ id: 'd' }),
    ])), ctx);
    expect(r.rejects!.map((x) => [x.path, x.code])).toEqual([
      ['state.contentItems[0]', 'missing_content_type'],
      ['state.contentItems[1]', 'missing_id'],
      ['state.contentItems[2].updatedAt', 'invalid_date'],
      ['state.contentItems[4]', 'duplicate_id'],
    ]);
    expect(r.rows!.content_items!.map((x) => x.sourceId)).toEqual(['d']);
  });

  test('U+0000 inside strings is kept (the pipeline handles storage)', () => {
    const r = transform(entry(envelope([item({ data: { title: 'a\u0000b' } })])), ctx);
    expect(r.rows!.content_items![0].data).toEqual({ title: 'a\u0000b' });
  });

  test('whole-entry rejects', () => {
    expect(transform(ls('content-storage', '{"state":'), ctx).outcome).toBe('rejected');
    expect(transform(entry({ state: {} }), ctx).outcome).toBe('rejected');
    expect(transform(entry(contentStorage), makeCtx({ global: false }).ctx).outcome).toBe('rejected');
  });

  test('an empty store is migrated with nothing to write', () => {
    expect(transform(entry(envelope([])), ctx)).toMatchObject({ outcome: 'migrated' });
  });
});
