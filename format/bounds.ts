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

/** The same test as STORABLE_TEXT (which zod schemas use), done natively: ~2× cheaper, and migrated rows run it per string. */
export const isStorableText = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed() && !s.includes('\u0000');

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `s` with each lone UTF-16 surrogate written as its `\u` escape (six characters); `s` itself when it has none. */
export function escapeLoneSurrogates(s: string): string {
  if ((s as unknown as { isWellFormed(): boolean }).isWellFormed()) return s;
  return s.replace(LONE_SURROGATE, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}
/** In JSON.stringify's output: the escape of U+0000 or of a lone surrogate (it escapes only lone ones), not after an escaped backslash. */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(0000|d[89a-f][0-9a-f]{2})/g;

/**
 * A report's text (a reason, a reject's path) that Postgres text takes: U+0000 and lone surrogates, which
 * only come from a dump's own strings, become the visible text `\u0000` / `\ud800` — a statement would fail
 * on the first, and the second would turn into U+FFFD.
 */
export function printableText(s: string): string {
  if (isStorableText(s)) return s;
  return escapeLoneSurrogates(s.replaceAll('\u0000', '\\u0000'));
}

/**
 * JSON text of a report value (entry outcomes, rejects, batch notes, errors) that Postgres json and jsonb
 * take: as JSON.stringify, with U+0000 and lone surrogates in its strings and keys written as printableText
 * writes them (jsonb refuses both escapes, json the lone surrogate's).
 */
export function printableJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json.includes('\\u') ? json.replace(UNSTORABLE_ESCAPE, '$1\\\\u$2') : json;
}

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

/**
 * The deepest nesting of arrays and objects (§1c tags count as the objects they are) that an IndexedDB key
 * or value, or the header's `source`, may have: deeper ones are refused with the dump
 * (`dump_value_too_deep`). Real app data nests a few dozen levels; thousands only come from a bug or a
 * crafted dump, and every recursive step after the reader (JSON.stringify, the §1c decoder, transforms)
 * would overflow the stack on them. A localStorage / sessionStorage value is a string in the format: one
 * whose JSON text nests deeper is accepted and kept raw by the migration (`jsonTextTooDeep`).
 */
export const MAX_VALUE_DEPTH = 1000;

/** True when `value` nests arrays/objects more than `max` levels deep (a scalar is 0, `[]` is 1). */
export function depthExceeds(value: unknown, max: number = MAX_VALUE_DEPTH): boolean {
  return exceeds(value, max, Infinity) === 'depth';
}

/**
 * The most values and object keys an IndexedDB key or value (and the header's `source`) may hold: more are
 * refused with the dump (`dump_value_too_large`). The line limit bounds an entry's characters, not what
 * parsing it builds: 40 million `{}` fit in 128 Mi characters and take gigabytes of heap as objects (a worker
 * died on 8 million). Each parsed value costs memory in the API's check, the worker's ingest, its transforms
 * and the rejects they report, so the bound is on values. A million is ~20 MB of real app JSON (Catalyst's
 * records hold tens to hundreds).
 */
export const MAX_VALUE_NODES = 1_000_000;

/**
 * The JSON text inside a string value (a Web Storage value is a string in the format) is accepted whatever
 * it holds; the migration keeps one raw that holds more than it maps at once (jobs/phases/staged.ts
 * PAGE_NODES), except a value of a kind it maps in slices (Catalyst's `content-storage`: every content item
 * in one value), which may hold MAX_SLICED_VALUE_NODES: the entry limit's 128 Mi characters of real items
 * are ~6 million (a 528-character item is 23), and the split keeps only the parsed list and an index per
 * element.
 */
export const MAX_SLICED_VALUE_NODES = 8_000_000;

/**
 * What one entry as a whole (an NDJSON line, a §1a record) may hold before it is parsed or built: a key and a
 * value, each within MAX_VALUE_NODES, and a few fields. The key and the value are then checked each.
 */
export const MAX_ENTRY_NODES = 2 * MAX_VALUE_NODES + 1000;

/** True when `value` holds more than `max` values and object keys (a scalar is 1, `[]` is 1, `{"a":1}` is 3). */
export function nodesExceed(value: unknown, max: number = MAX_VALUE_NODES): boolean {
  return exceeds(value, Infinity, max) === 'nodes';
}

/** Which bound `value` breaks first, walking it iteratively: its nesting (`maxDepth` levels) or its size (`maxNodes`). */
export function exceeds(value: unknown, maxDepth: number, maxNodes: number): 'depth' | 'nodes' | null {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  let nodes = 1;
  if (nodes > maxNodes) return 'nodes';
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > maxDepth) return 'depth';
    const children = Array.isArray(v) ? v : Object.values(v);
    nodes += Array.isArray(v) ? children.length : 2 * children.length;
    if (nodes > maxNodes) return 'nodes';
    for (const x of children) if (x !== null && typeof x === 'object') stack.push({ v: x, depth: depth + 1 });
  }
  return null;
}

/**
 * An upper bound of the values and object keys parsing `text` builds: 1 plus the commas, colons and opening
 * brackets outside string literals (exact for JSON, but an empty array or object counts 2). Text that does
 * not start with a bracket counts 1: it is a scalar, or not JSON at all. Linear, without parsing, and
 * stops counting past `max`.
 */
export function jsonTextNodes(text: string, max: number = Infinity): number {
  return measureJsonText(text, Infinity, max).nodes;
}

/**
 * One pass over JSON text outside its string literals (skipped by searching for their closing quote, ~5×
 * faster than reading them a character at a time): the values and keys so far (as jsonTextNodes counts them)
 * and the deepest nesting, stopping once either passes its bound.
 */
export function measureJsonText(text: string, maxDepth: number, maxNodes: number): { nodes: number; depth: number } {
  const start = text.search(/\S/);
  if (start < 0 || (text[start] !== '[' && text[start] !== '{')) return { nodes: 1, depth: 0 };
  let nodes = 1;
  let depth = 0;
  let deepest = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (;;) { // to the closing quote: one not preceded by an odd number of backslashes
        const q = text.indexOf('"', i + 1);
        if (q < 0) return { nodes, depth: deepest }; // unterminated: there is nothing more to count
        let backslashes = 0;
        while (text.charCodeAt(q - 1 - backslashes) === 0x5c) backslashes++;
        i = q;
        if (backslashes % 2 === 0) break;
      }
    } else if (c === 0x2c || c === 0x3a) {
      if (++nodes > maxNodes) break;
    } else if (c === 0x5b || c === 0x7b) {
      if (++nodes > maxNodes) break;
      if (++depth > deepest && (deepest = depth) > maxDepth) break;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return { nodes, depth: deepest };
}

/**
 * True when `text` is JSON whose arrays/objects nest more than `max` levels deep. Linear and without
 * parsing in the common case: only text that starts with a bracket can nest, brackets inside string
 * literals do not count, and a text that only looks deep is confirmed by parsing (V8's JSON.parse does not
 * recurse); one that does not parse is not JSON, so it is not too deep either.
 */
export function jsonTextTooDeep(text: string, max: number = MAX_VALUE_DEPTH): boolean {
  if (measureJsonText(text, max, Infinity).depth <= max) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
