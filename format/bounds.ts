/**
 * What a dump may hold beyond its schema, so that an accepted dump can always be stored and migrated.
 * Walks are iterative: they must not themselves fail on the inputs they are meant to refuse.
 */
/**
 * Postgres text and jsonb cannot hold U+0000 or a lone UTF-16 surrogate. Entry values may (they are
 * stored tagged, see jobs/write/storable.ts); names and the header, kept as plain text/jsonb, may not.
 */
// eslint-disable-next-line no-control-regex
export const STORABLE_TEXT = /^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;

export const isStorableText = (s: string): boolean => STORABLE_TEXT.test(s);

type Path = Array<string | number>;

/**
 * Where the first string in `value` that Postgres cannot store is (`key`: one of that object's keys), or
 * null. Paths are segments, e.g. ['extra', 'tags', 2].
 */
export function findUnstorable(value: unknown): { path: Path; key: boolean } | null {
  const stack: Array<{ v: unknown; path: Path }> = [{ v: value, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (!isStorableText(v)) return { path, key: false };
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, path: [...path, i] }));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (!isStorableText(k)) return { path, key: true };
        stack.push({ v: x, path: [...path, k] });
      }
    }
  }
  return null;
}
