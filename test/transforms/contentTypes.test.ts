import { contentTypeAliases } from '../../jobs/transforms/catalyst';
import { transform } from '../../jobs/transforms/catalyst/contentTypes';
import { blogPostType, ls, makeCtx } from './fixtures';

const { ctx } = makeCtx();
const entry = (types: unknown) => ls('contentTypes', JSON.stringify(types));
const field = (n: number) => ({ id: `f${n}`, name: `field_${n}`, label: 'New Field', type: 'text', required: false, order: n });

describe('contentTypes (docs/catalyst-layout.md §2.2)', () => {
  test('the §3 example → one row on the global website, relationship ids remapped, originals kept', () => {
    const r = transform(entry([blogPostType]), ctx);
    expect(r.rejects).toEqual([]);
    const [row] = r.rows!.content_types!;
    expect(row).toMatchObject({
      id: ctx.contentTypeId(blogPostType.id), userId: 'user-1', sourceId: blogPostType.id, websiteId: ctx.globalWebsite!.id,
      name: 'BlogPost', slug: 'blog-post',
      createdAt: new Date('2025-08-12T06:56:40.123Z'), updatedAt: new Date('2025-08-12T07:01:02.000Z'),
    });
    const schema = row.schema as { fields: unknown[]; relationships: Record<string, unknown>[]; pluralName: string; icon: string; description: string };
    expect(schema).toMatchObject({ pluralName: 'BlogPosts', icon: '📋', description: 'Articles', fields: blogPostType.fields });
    expect(schema.relationships[0]).toMatchObject({
      sourceContentTypeId: ctx.contentTypeId('1754981000123_k3j9x2m1q'),
      targetContentTypeId: ctx.contentTypeId('1754981100456_p0o9i8u7y'),
      sourceContentTypeSourceId: '1754981000123_k3j9x2m1q',
      targetContentTypeSourceId: '1754981100456_p0o9i8u7y',
      fieldName: 'author', type: 'manyToOne',
    });
    expect(row.batchId).toBeUndefined();
  });

  test('dedupe by name: more fields wins; the dropped one is aliased, not rejected', () => {
    const small = { ...blogPostType, id: 'a', fields: [field(1)], relationships: [] };
    const big = { ...blogPostType, id: 'b', fields: [field(1), field(2)], relationships: [{ id: 'r', name: 'x', type: 'oneToOne', sourceContentTypeId: 'a', targetContentTypeId: 'a', isRequired: false }] };
    const r = transform(entry([small, big]), ctx);
    expect(r.rows!.content_types!.map((x) => x.sourceId)).toEqual(['b']);
    expect(r.rejects).toEqual([]);
    expect(r.notes).toEqual({
      contentTypeAliases: { a: 'b' },
      contentTypeDuplicates: [{ path: '[0]', sourceId: 'a', name: 'BlogPost', keptPath: '[1]', keptSourceId: 'b' }],
    });
    // A relationship pointing at the dropped id follows the alias even before ctx knows it.
    const rel = (r.rows!.content_types![0].schema as { relationships: Record<string, unknown>[] }).relationships[0];
    expect(rel.sourceContentTypeId).toBe(ctx.contentTypeId('b'));
    expect(rel.sourceContentTypeSourceId).toBe('a');
    expect(contentTypeAliases(entry([small, big]))).toEqual({ a: 'b' });
  });

  test('dedupe ties: later updatedAt, then the first', () => {
    const older = { ...blogPostType, id: 'old', updatedAt: '2025-08-12T07:00:00.000Z' };
    const newer = { ...blogPostType, id: 'new', updatedAt: '2025-08-12T08:00:00.000Z' };
    expect(transform(entry([newer, older]), ctx).rows!.content_types!.map((x) => x.sourceId)).toEqual(['new']);
    expect(transform(entry([older, newer]), ctx).rows!.content_types!.map((x) => x.sourceId)).toEqual(['new']);
    const twin = { ...older, id: 'twin' };
    expect(transform(entry([older, twin]), ctx).rows!.content_types!.map((x) => x.sourceId)).toEqual(['old']);
  });

  test('element without id or name → ElementReject at [i]; others still written', () => {
    const r = transform(entry([{ ...blogPostType, id: undefined }, { ...blogPostType, name: '' , id: 'z' }, { ...blogPostType, id: 'ok', name: 'Page' }]), ctx);
    expect(r.rejects!.map((x) => [x.path, x.code])).toEqual([['[0]', 'missing_id_or_name'], ['[1]', 'missing_id_or_name']]);
    expect(r.rows!.content_types!.map((x) => x.sourceId)).toEqual(['ok']);
  });

  test('an invalid date → invalid_date reject naming the path; the row is not written', () => {
    const r = transform(entry([{ ...blogPostType, createdAt: '2025-02-30T00:00:00Z' }]), ctx);
    expect(r.rejects).toEqual([expect.objectContaining({ path: '[0].createdAt', code: 'invalid_date' })]);
    expect(r.outcome).toBe('rejected');
    expect(r.rows!.content_types).toEqual([]);
  });

  test('distinct names with the same slug get a suffix (unique per website)', () => {
    const r = transform(entry([blogPostType, { ...blogPostType, id: 'x', name: 'Blog Post' }]), ctx);
    expect(r.rows!.content_types!.map((x) => x.slug)).toEqual(['blog-post', 'blog-post-2']);
    expect(r.notes).toMatchObject({ contentTypeSlugSuffixes: [{ path: '[1]', slug: 'blog-post-2' }] });
  });

  test('whole-entry rejects: invalid JSON, not an array, no global website', () => {
    expect(transform(ls('contentTypes', '[{"id":'), ctx)).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('not valid JSON') });
    expect(transform(entry({ id: 'x' }), ctx)).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('not a JSON array') });
    expect(transform(entry([blogPostType]), makeCtx({ global: false }).ctx)).toMatchObject({ outcome: 'rejected', reason: expect.stringContaining('websiteId') });
  });

  test('an empty array is migrated with nothing to write', () => {
    expect(transform(entry([]), ctx)).toMatchObject({ outcome: 'migrated' });
  });
});
