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
 * JSON.stringify(s) as UTF-8 bytes, made a piece at a time and left in those pieces (binary COPY writes them
 * as they are): the same bytes, without the JSON text of a large string ever being one string on the V8 heap
 * beside the string itself (a staged value of up to 128 Mi characters, two bytes each when it holds any
 * character past U+00FF), nor one buffer. Pieces never split a surrogate pair, so a pair is not escaped as
 * two lone halves.
 */
export function jsonStringPieces(s: string, piece = 1 << 20): Buffer[] {
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
  return parts;
}
