/**
 * An outline of JSON text, read without building its values: where the values at some member paths are,
 * and, for an array at one of some paths, where each element is and each element's key (one named member's
 * string value). For a large value whose element list is handed on as text (jobs/phases/slices.ts: the
 * slices of Catalyst's 200,000 content items are the items' own JSON text), it replaces JSON.parse of the
 * whole value and JSON.stringify of every element: the text is validated exactly as JSON.parse validates
 * it, in one pass that skips the inside of string literals with indexOf (their escapes are checked only
 * where a backslash is), building nothing: on the 109 MB value of 200,000 items, 0.30–0.45 s against
 * 0.41–0.59 s for JSON.parse and as much again for the JSON.stringify it saves (docs/BENCHMARKS.md).
 *
 * It answers only where the answer is exactly JSON.parse's: null means "read it with JSON.parse instead":
 * the text is not JSON, or a member name repeats in an object on a wanted path (JSON.parse keeps the last
 * one; the outline does not follow which subtree that leaves in place). A key repeated inside an element
 * is followed: the last one counts, as JSON.parse keeps it.
 */

/** Where one value is in the text: [start, end), and what kind of value it is. */
export interface JsonRange {
  start: number;
  end: number;
  kind: 'object' | 'array' | 'string' | 'number' | 'literal';
}

export interface JsonOutlineSpec {
  /** Member paths (names from the root; [] is the root) whose values' ranges are wanted. */
  values: readonly (readonly string[])[];
  /** Member paths whose arrays' elements are outlined. */
  lists: readonly (readonly string[])[];
  /** The member whose string value is an element's key. */
  key: string;
}

/** The elements of an outlined array: element i is `text.slice(starts[i], ends[i])`. */
export interface JsonListOutline {
  starts: number[];
  ends: number[];
  /** Element i's key: its `key` member's value when it is an object whose last member of that name is a string, else null. */
  keys: (string | null)[];
}

export interface JsonOutline {
  value(path: readonly string[]): JsonRange | undefined;
  list(path: readonly string[]): JsonListOutline | undefined;
}

/** A path as one string: each name after a NUL (names holding a NUL are never tracked). */
const pathKey = (path: readonly string[]): string => path.map((n) => `\0${n}`).join('');

/** Control characters JSON allows nowhere (tab, line feed and carriage return are whitespace outside strings). */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const NEVER_VALID = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;

interface Frame {
  array: boolean;
  start: number;
  /** The container's own path key when tracked (an object on a wanted path, or a wanted array), else null. */
  path: string | null;
  /** Whether the container is the value of an element's key member. */
  isKey: boolean;
  /** Member names seen, for a tracked object. */
  names: Set<string> | null;
  /** The outline being built, for an array at a wanted list path. */
  list: JsonListOutline | null;
  /** An object that is an element of an outlined list. */
  element: boolean;
  /** An element object's key so far (undefined: no key member yet). */
  key: string | null | undefined;
}

/**
 * The outline of `text` (see the module's comment), or null when JSON.parse must read it: not JSON, or a
 * member name repeated on a wanted path.
 */
export function outlineJson(text: string, spec: JsonOutlineSpec): JsonOutline | null {
  if (spec.values.concat(spec.lists).some((p) => p.some((name) => name.includes('\0')))) throw new Error('outlineJson: a path name holds U+0000');
  if (NEVER_VALID.test(text)) return null;
  const wantedValues = new Set(spec.values.map(pathKey));
  const wantedLists = new Set(spec.lists.map(pathKey));
  const tracked = new Set<string>([...wantedValues, ...wantedLists]);
  for (const p of [...spec.values, ...spec.lists]) for (let k = 0; k < p.length; k++) tracked.add(pathKey(p.slice(0, k)));
  const key = spec.key;
  const values = new Map<string, JsonRange>();
  const lists = new Map<string, JsonListOutline>();
  const strings = new StringScanner(text);
  const n = text.length;
  const stack: Frame[] = [];

  // The value that starts next: where, its path key when tracked, whether it is an element's key member.
  let i = skipWs(text, 0);
  let path: string | null = tracked.has('') ? '' : null;
  let isKey = false;

  /** Reads the member name at i of object `frame` up to its value: sets i, path and isKey; false: not JSON, or a repeat on a wanted path. */
  const member = (frame: Frame): boolean => {
    if (text.charCodeAt(i) !== 0x22) return false;
    const start = i;
    const end = strings.endOf(i);
    if (end < 0) return false;
    const colon = skipWs(text, end);
    if (text.charCodeAt(colon) !== 0x3a) return false;
    i = skipWs(text, colon + 1);
    path = null;
    isKey = false;
    if (frame.element) {
      isKey = strings.escaped(start, end) ? strings.decode(start, end) === key : end - start - 2 === key.length && text.startsWith(key, start + 1);
    } else if (frame.path !== null) {
      const name = strings.decode(start, end);
      const child = frame.path + '\0' + name;
      if (!name.includes('\0') && tracked.has(child)) {
        if (frame.names!.has(name)) return false; // JSON.parse keeps the last; which subtree stays is not followed here
        frame.names!.add(name);
        path = child;
      }
    }
    return true;
  };

  for (;;) {
    // A value starts at i.
    if (i >= n) return null;
    const c = text.charCodeAt(i);
    let start = i;
    let kind: JsonRange['kind'];
    let closed: Frame | undefined; // the container that just ended
    if (c === 0x7b || c === 0x5b) { // { [
      const array = c === 0x5b;
      const parent = stack[stack.length - 1];
      let list: JsonListOutline | null = null;
      if (array && path !== null && wantedLists.has(path)) {
        if (lists.has(path)) return null;
        lists.set(path, (list = { starts: [], ends: [], keys: [] }));
      }
      const frame: Frame = {
        array, start, path, isKey, names: !array && path !== null ? new Set() : null, list,
        element: !array && parent !== undefined && parent.list !== null, key: undefined,
      };
      stack.push(frame);
      i = skipWs(text, i + 1);
      if (text.charCodeAt(i) !== (array ? 0x5d : 0x7d)) {
        if (array) {
          path = null;
          isKey = false;
        } else if (!member(frame)) return null;
        continue;
      }
      i++; // empty
      closed = stack.pop();
      kind = array ? 'array' : 'object';
    } else if (c === 0x22) { // "
      i = strings.endOf(i);
      if (i < 0) return null;
      kind = 'string';
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) { // - 0-9
      i = endOfNumber(text, i);
      if (i < 0) return null;
      kind = 'number';
    } else {
      const word = c === 0x74 && text.startsWith('true', i) ? 4 : c === 0x66 && text.startsWith('false', i) ? 5 : c === 0x6e && text.startsWith('null', i) ? 4 : 0;
      if (word === 0) return null;
      i += word;
      kind = 'literal';
    }

    // The value [start, i) ended; then its container's punctuation, and the containers it closes.
    for (;;) {
      if (path !== null && wantedValues.has(path)) values.set(path, { start, end: i, kind });
      const parent = stack[stack.length - 1];
      if (parent === undefined) return skipWs(text, i) === n ? outline(values, lists) : null;
      if (parent.list !== null) {
        parent.list.starts.push(start);
        parent.list.ends.push(i);
        parent.list.keys.push(closed !== undefined && closed.element ? closed.key ?? null : null);
      } else if (isKey) {
        parent.key = kind === 'string' ? strings.decode(start, i) : null;
      }
      i = skipWs(text, i);
      const p = text.charCodeAt(i);
      if (p === 0x2c) { // ,
        i = skipWs(text, i + 1);
        if (parent.array) {
          path = null;
          isKey = false;
        } else if (!member(parent)) return null;
        break;
      }
      if (p !== (parent.array ? 0x5d : 0x7d)) return null;
      i++;
      closed = stack.pop()!;
      start = closed.start;
      kind = closed.array ? 'array' : 'object';
      path = closed.path;
      isKey = closed.isKey;
    }
  }
}

/**
 * Finds where string literals end, validating them as JSON.parse does, without reading their insides
 * character by character: the closing quote by indexOf (one not preceded by an odd run of backslashes);
 * raw tabs, line feeds and carriage returns (the only control characters outlineJson lets through) and
 * backslashes by indexOf positions kept ahead of the scan, so the text is searched once for each; a
 * string's escapes are checked only when a backslash is in it.
 */
class StringScanner {
  /** The next backslash, line feed, carriage return and tab at or after where they were last looked for (text.length: none). */
  private backslash = -1;
  private lf = -1;
  private cr = -1;
  private tab = -1;

  constructor(private readonly text: string) {}

  /** The first `ch` at or after `from`, given `at`, the one found before from a position not after `from`. */
  private find(ch: string, at: number, from: number): number {
    if (at >= from) return at;
    const found = this.text.indexOf(ch, from);
    return found < 0 ? this.text.length : found;
  }

  /** The end (after its closing quote) of the string literal whose opening quote is at i, or -1 when it is not valid JSON. */
  endOf(i: number): number {
    const t = this.text;
    let q = i;
    for (;;) {
      q = t.indexOf('"', q + 1);
      if (q < 0) return -1;
      let backslashes = 0;
      while (t.charCodeAt(q - 1 - backslashes) === 0x5c) backslashes++;
      if ((backslashes & 1) === 0) break;
    }
    this.lf = this.find('\n', this.lf, i);
    this.cr = this.find('\r', this.cr, i);
    this.tab = this.find('\t', this.tab, i);
    if (this.lf < q || this.cr < q || this.tab < q) return -1;
    this.backslash = this.find('\\', this.backslash, i);
    return this.backslash < q && !validEscapes(t, this.backslash, q) ? -1 : q + 1;
  }

  /** Whether the (valid) string literal [start, end) holds an escape. */
  escaped(start: number, end: number): boolean {
    this.backslash = this.find('\\', this.backslash, start);
    return this.backslash < end;
  }

  /** The value of the (valid) string literal [start, end). */
  decode(start: number, end: number): string {
    return this.escaped(start, end) ? (JSON.parse(this.text.slice(start, end)) as string) : this.text.slice(start + 1, end - 1);
  }
}

const HEX = /^[0-9a-fA-F]{4}$/;

/** Whether every escape in text[from, to) is one JSON allows (to: a string's closing quote). */
function validEscapes(text: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    if (text.charCodeAt(k) !== 0x5c) continue;
    const e = text.charCodeAt(k + 1);
    if (e === 0x75) { // u
      if (!HEX.test(text.slice(k + 2, k + 6))) return false;
      k += 5;
    } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) k++;
    else return false;
  }
  return true;
}

function outline(values: Map<string, JsonRange>, lists: Map<string, JsonListOutline>): JsonOutline {
  return { value: (p) => values.get(pathKey(p)), list: (p) => lists.get(pathKey(p)) };
}

/** Skips JSON whitespace (space, tab, line feed, carriage return). */
function skipWs(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** Whether the character at k is a digit. */
function isDigit(text: string, k: number): boolean {
  const c = text.charCodeAt(k);
  return c >= 0x30 && c <= 0x39;
}

/** The end of the number at i (JSON's grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?), or -1. */
function endOfNumber(text: string, i: number): number {
  if (text.charCodeAt(i) === 0x2d) i++;
  if (text.charCodeAt(i) === 0x30) i++;
  else if (isDigit(text, i)) while (isDigit(text, i)) i++;
  else return -1;
  if (text.charCodeAt(i) === 0x2e) {
    i++;
    if (!isDigit(text, i)) return -1;
    while (isDigit(text, i)) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const s = text.charCodeAt(i);
    if (s === 0x2b || s === 0x2d) i++;
    if (!isDigit(text, i)) return -1;
    while (isDigit(text, i)) i++;
  }
  return i;
}
