/**
 * COPY's text format (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format"): a backslash is
 * doubled; tab, newline and carriage return become \t, \n, \r. `\N` is null.
 */
const SPECIAL = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

const HAS_SPECIAL = /[\\\t\n\r]/;

/** A field value for a COPY line. */
export function copyText(v: string): string {
  return HAS_SPECIAL.test(v) ? v.replace(SPECIAL, (c) => ESCAPED[c]) : v;
}

/**
 * The same for JSON.stringify's output, which never holds a raw tab, newline or carriage return (JSON escapes
 * every control character), so only its backslashes are doubled: without a callback per match.
 */
export function copyJson(json: string): string {
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}

/**
 * The same as UTF-8 bytes, for large values (a staged entry of 110 MB: Catalyst keeps every content item in
 * one localStorage value, JSON inside a JSON string, so millions of backslashes). One pass over the bytes,
 * off the V8 heap: the string replace called back once per backslash (1.5 s of CPU on that value) and built
 * the escaped copy on the heap, next to the value and its parsed form. Bytes ≥ 0x80 (UTF-8 sequences)
 * never equal the four escaped ones, so multi-byte characters pass through untouched.
 */
export function copyBytes(v: string): Buffer {
  const src = Buffer.from(v, 'utf8');
  let extra = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i];
    if (b === 0x5c || b === 0x09 || b === 0x0a || b === 0x0d) extra++;
  }
  if (extra === 0) return src;
  const out = Buffer.allocUnsafe(src.length + extra);
  let j = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i];
    if (b === 0x5c) { out[j++] = 0x5c; out[j++] = 0x5c; }
    else if (b === 0x09) { out[j++] = 0x5c; out[j++] = 0x74; }
    else if (b === 0x0a) { out[j++] = 0x5c; out[j++] = 0x6e; }
    else if (b === 0x0d) { out[j++] = 0x5c; out[j++] = 0x72; }
    else out[j++] = b;
  }
  return out;
}

/** Strings above this many characters are escaped as bytes (copyBytes). */
export const LARGE_COPY_VALUE = 1 << 16;
