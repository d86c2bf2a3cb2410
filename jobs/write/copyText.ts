/**
 * COPY's text format (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format"): a backslash is
 * doubled; tab, newline and carriage return become \t, \n, \r. `\N` is null.
 */
const SPECIAL = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

const HAS_SPECIAL = new RegExp(SPECIAL.source);

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
export function copyBytes(v: string | Buffer): Buffer {
  const src = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
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

/**
 * JSON.stringify(s) as UTF-8 bytes, made a piece at a time: the same bytes, without the JSON text of a large
 * string ever being one string on the V8 heap beside the string itself (a staged value of up to 128 Mi
 * characters, two bytes each when it holds any character past U+00FF). Pieces never split a surrogate pair,
 * so a pair is not escaped as two lone halves.
 */
export function jsonStringBytes(s: string, piece = 1 << 20): Buffer {
  const parts: Buffer[] = [Buffer.from('"')];
  for (let i = 0; i < s.length;) {
    let end = Math.min(s.length, i + piece);
    const last = s.charCodeAt(end - 1);
    const next = s.charCodeAt(end); // NaN past the end
    if (last >= 0xd800 && last <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) end++; // a pair stays whole
    const json = JSON.stringify(s.slice(i, end));
    parts.push(Buffer.from(json.slice(1, -1), 'utf8'));
    i = end;
  }
  parts.push(Buffer.from('"'));
  return Buffer.concat(parts);
}
