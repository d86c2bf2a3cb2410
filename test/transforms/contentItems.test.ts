import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sliced, transform } from '../../jobs/transforms/catalyst/contentItems';
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

/**
 * The sliced split read from the value's text (splitText, format/jsonOutline.ts) against the parsed one
 * (split): wherever splitText answers, the same list (each element's text parses to split's element), the
 * same keys (keyOf), path and notes; null exactly where split gives null. Values: both shapes, the
 * envelope's members in any order and with other members, odd versions and project ids, items of every
 * kind (no id, a repeated id key, ids with escapes), not-quite envelopes, and text that is not JSON.
 */
describe('content-storage split from its text (splitText) = split', () => {
  const { ctx: noSite } = makeCtx({ global: false });
  const id = fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom('a"b', 'é\\', '\u2028'), fc.integer(), fc.constant(null));
  const anItem = fc.oneof(
    fc.record({ id, contentTypeId: fc.string({ maxLength: 3 }), data: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['contentTypeId'] }),
    fc.jsonValue({ maxDepth: 2 }),
  );
  const value = fc.oneof(
    fc.array(anItem, { maxLength: 5 }),
    fc.record({
      state: fc.oneof(
        fc.record({ contentItems: fc.oneof(fc.array(anItem, { maxLength: 5 }), fc.jsonValue({ maxDepth: 1 })), projectId: fc.jsonValue({ maxDepth: 1 }), other: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      version: fc.jsonValue({ maxDepth: 1 }),
      extra: fc.jsonValue({ maxDepth: 1 }),
    }, { requiredKeys: [] }),
    fc.jsonValue({ maxDepth: 2 }),
  );
  /** Text variants: JSON.stringify, indented, a repeated id written into the first item, cut short. */
  const texts = (v: unknown): string[] => {
    const text = JSON.stringify(v);
    return [text, JSON.stringify(v, null, '\t'), text.replace(/\{"id":/, '{"id":"first","id":'), text.slice(0, -1)];
  };

  test('wherever it answers, splitText gives split', () => {
    fc.assert(fc.property(value, fc.boolean(), (v, withSite) => {
      const c = withSite ? ctx : noSite;
      for (const text of texts(v)) {
        const fromText = sliced.splitText!(text, c);
        if (fromText === undefined) continue;
        const parsed = sliced.split(ls('content-storage', text), c);
        if (fromText === null || parsed === null) {
          expect(fromText).toEqual(parsed);
          continue;
        }
        const { list, path, notes } = fromText;
        const elements = list.starts.map((s, i) => JSON.parse(text.slice(s, list.ends[i])));
        expect(elements).toEqual(parsed.elements);
        expect(list.keys).toEqual(parsed.elements.map((e) => sliced.keyOf(e)));
        expect({ path, notes }).toEqual({ path: parsed.path, notes: parsed.notes });
      }
    }), { numRuns: 1500 });
  });

  test('it answers for the app\'s own writing of the value (JSON.stringify of the envelope or a list)', () => {
    for (const v of [contentStorage, envelope([item(), item({ id: 'x' })]), [item()], { ...contentStorage, version: 2 }]) {
      expect(sliced.splitText!(JSON.stringify(v), ctx)).toBeTruthy();
    }
    expect(sliced.splitText!('{"state":{"contentItems":[]},"state":{"contentItems":[]}}', ctx)).toBeUndefined(); // repeated: split decides
    expect(sliced.splitText!('{"state":{"contentItems":[1]}}', noSite)).toBeNull();
  });
});
