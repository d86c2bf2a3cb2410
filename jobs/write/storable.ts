/**
 * Postgres text and jsonb cannot hold U+0000, nor lone UTF-16 surrogates. Such strings are kept
 * losslessly: inside jsonb they become {"$t":"String","utf16le":"<base64>"} (the dump's own tag style);
 * a text column cannot hold a tag, so a row with one there is refused with a reason (its entry stays raw
 * in dump_entries and the report says why).
 */
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isStorableString(s: string): boolean {
  return !UNSTORABLE.test(s);
}

export function tagString(s: string): { $t: 'String'; utf16le: string } {
  return { $t: 'String', utf16le: Buffer.from(s, 'utf16le').toString('base64') };
}

/** Returns the value with every unstorable string tagged (copying only what changes). */
export function storableJson(v: unknown): unknown {
  if (typeof v === 'string') return isStorableString(v) ? v : tagString(v);
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    v.forEach((x, i) => {
      const y = storableJson(x);
      if (y !== x) (out ??= v.slice())[i] = y;
    });
    return out ?? v;
  }
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    let out: Record<string, unknown> | null = null;
    for (const [k, x] of Object.entries(v)) {
      const y = storableJson(x);
      const key = isStorableString(k) ? k : `$utf16le:${Buffer.from(k, 'utf16le').toString('base64')}`;
      if (y !== x || key !== k) {
        out ??= { ...(v as Record<string, unknown>) };
        if (key !== k) delete out[k];
        out[key] = y;
      }
    }
    return out ?? v;
  }
  return v;
}
