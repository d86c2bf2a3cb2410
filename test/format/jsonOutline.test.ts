/**
 * format/jsonOutline.ts against JSON.parse: whenever the outline answers, the text is JSON and every range
 * it gives holds exactly the value JSON.parse put at that path (the last of a repeated key inside an
 * element included); for text that is not JSON it never answers. Texts: values at the wanted paths inside
 * other members, elements of every kind, keys repeated, strings written with every escape JSON has, any
 * JSON whitespace between tokens; then the same texts cut, and mutated a character at a time.
 */
import fc from 'fast-check';
import { outlineJson, type JsonOutlineSpec } from '../../format/jsonOutline';

const SPEC: JsonOutlineSpec = {
  values: [[], ['state'], ['state', 'contentItems'], ['version'], ['state', 'projectId']],
  lists: [[], ['state', 'contentItems']],
  key: 'id',
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What JSON.parse says is at `path`, or undefined. */
function at(v: unknown, path: readonly string[]): { v: unknown } | undefined {
  let node = v;
  for (const name of path) {
    if (!isObject(node) || !Object.hasOwn(node, name)) return undefined;
    node = node[name];
  }
  return { v: node };
}

const kindOf = (v: unknown) => (Array.isArray(v) ? 'array' : v === null || typeof v === 'boolean' ? 'literal' : typeof v === 'object' ? 'object' : typeof v);

/** Checks an outline against JSON.parse of the text; returns whether the outline answered. */
function check(text: string, mustAnswer = false): boolean {
  let parsed: unknown;
  let valid = true;
  try {
    parsed = JSON.parse(text);
  } catch {
    valid = false;
  }
  const o = outlineJson(text, SPEC);
  if (!valid) {
    expect(o).toBeNull();
    return false;
  }
  if (mustAnswer) expect(o).not.toBeNull();
  if (!o) return false;
  for (const path of SPEC.values) {
    const want = at(parsed, path);
    const got = o.value(path);
    expect(got === undefined).toBe(want === undefined);
    if (!got || !want) continue;
    expect(JSON.parse(text.slice(got.start, got.end))).toEqual(want.v);
    expect(got.kind).toBe(kindOf(want.v));
  }
  for (const path of SPEC.lists) {
    const want = at(parsed, path);
    const got = o.list(path);
    expect(got === undefined).toBe(!want || !Array.isArray(want.v));
    if (!got) continue;
    const elements = want!.v as unknown[];
    expect(got.starts.length).toBe(elements.length);
    expect(got.ends.length).toBe(elements.length);
    elements.forEach((e, i) => {
      expect(JSON.parse(text.slice(got.starts[i], got.ends[i]))).toEqual(e);
      expect(got.keys[i]).toBe(isObject(e) && typeof e.id === 'string' ? e.id : null);
    });
  }
  return true;
}

/** A value written as JSON text by hand: members as pairs (so names can repeat), chosen whitespace, chosen escapes. */
type Tree = null | boolean | number | string | Tree[] | { pairs: [string, Tree][] };

function write(t: Tree, ws: () => string, esc: () => number): string {
  if (Array.isArray(t)) return `[${ws()}${t.map((x) => write(x, ws, esc)).join(`${ws()},${ws()}`)}${ws()}]`;
  if (t !== null && typeof t === 'object') return `{${ws()}${t.pairs.map(([k, v]) => `${str(k, esc)}${ws()}:${ws()}${write(v, ws, esc)}`).join(`${ws()},${ws()}`)}${ws()}}`;
  if (typeof t === 'string') return str(t, esc);
  return JSON.stringify(t);
}

/** A string literal, each character written as JSON.stringify would, or as a \u escape, or a short escape where one exists. */
function str(s: string, esc: () => number): string {
  let out = '"';
  for (const ch of s.split('')) {
    const mode = esc();
    const short: Record<string, string> = { '"': '\\"', '\\': '\\\\', '/': '\\/', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    if (mode === 1) out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
    else if (mode === 2 && short[ch]) out += short[ch];
    else out += JSON.stringify(ch).slice(1, -1);
  }
  return `${out}"`;
}

const WS = [' ', '\n', '\r', '\t', '  '];
const pick = <T>(xs: readonly T[], seed: number[], k = 0) => () => xs[(seed[k++ % seed.length] ?? 0) % xs.length];

const name = fc.oneof(fc.constantFrom('id', 'state', 'contentItems', 'version', 'projectId', 'data', '', '__proto__', 'i\\d', 'é'), fc.string({ maxLength: 4 }));
const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.string({ unit: 'binary', maxLength: 6 }),
    fc.array(tie('t'), { maxLength: 4 }),
    fc.array(fc.tuple(name, tie('t')), { maxLength: 4 }).map((pairs) => ({ pairs })),
  ),
})).t;

/** An element: often an object with an id (a string, repeated, or something else), sometimes anything. */
const element: fc.Arbitrary<Tree> = fc.oneof(
  fc.tuple(fc.string({ unit: 'binary', maxLength: 6 }), fc.array(fc.tuple(name, tree), { maxLength: 3 }), fc.option(tree, { nil: undefined }), fc.boolean())
    .map(([id, rest, second, first]) => ({ pairs: [...(first ? [['id', id] as [string, Tree]] : []), ...rest, ...(second !== undefined ? [['id', second] as [string, Tree]] : []), ...(first ? [] : [['id', id] as [string, Tree]])] })),
  tree,
);

/** A content-storage-like value: a bare list, or the envelope (members in any order, others beside them, state not always an object). */
const doc: fc.Arbitrary<Tree> = fc.oneof(
  fc.array(element, { maxLength: 6 }),
  fc.tuple(fc.array(element, { maxLength: 6 }), fc.option(tree, { nil: undefined }), fc.option(tree, { nil: undefined }), fc.array(fc.tuple(name, tree), { maxLength: 2 }), fc.boolean(), fc.boolean())
    .map(([items, version, projectId, extra, stateIsList, itemsNotList]) => {
      const member = (k: string, v: Tree): [string, Tree] => [k, v];
      const state: Tree = stateIsList ? [items] : { pairs: [member('contentItems', itemsNotList ? { pairs: [member('x', items)] } : items), ...(projectId !== undefined ? [member('projectId', projectId)] : []), ...extra] };
      const root: Tree = { pairs: [...extra.slice(0, 1), member('state', state), ...(version !== undefined ? [member('version', version)] : [])] };
      return root;
    }),
  tree,
);

/** Whether a tree repeats a member name on a path the outline tracks (then it may decline to answer). */
function repeatsTracked(t: Tree): boolean {
  const names = (x: Tree) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? x.pairs.map(([k]) => k) : []);
  const dup = (ns: string[], of: string[]) => of.some((n) => ns.filter((k) => k === n).length > 1);
  if (dup(names(t), ['state', 'version'])) return true;
  const state = t !== null && typeof t === 'object' && !Array.isArray(t) ? t.pairs.filter(([k]) => k === 'state').map(([, v]) => v) : [];
  return state.some((s) => dup(names(s), ['contentItems', 'projectId']));
}

const seeds = fc.array(fc.nat(), { minLength: 1, maxLength: 16 });

test('whatever the outline says of JSON text is what JSON.parse says, and it answers for any JSON without a repeated name on a wanted path', () => {
  fc.assert(fc.property(doc, seeds, seeds, (t, wsSeed, escSeed) => {
    const text = write(t, pick(['', ...WS], wsSeed), pick([0, 0, 1, 2], escSeed));
    check(text, !repeatsTracked(t));
    check(` ${text}\n`, !repeatsTracked(t));
  }), { numRuns: 3000 });
});

test('JSON.stringify output of content-storage values is always answered', () => {
  fc.assert(fc.property(fc.array(fc.jsonValue(), { maxLength: 8 }), fc.jsonValue(), (items, projectId) => {
    check(JSON.stringify({ state: { contentItems: items, projectId }, version: 0 }), true);
    check(JSON.stringify(items), true);
  }), { numRuns: 300 });
});

test('cut or mutated text: the outline never answers for text that is not JSON, and never wrongly', () => {
  const EDITS = ['"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', 'e', '.', 't', 'n', ' ', '\n', '\t', '\r', '\u0001', '\u001f', 'u', 'x', '1'];
  fc.assert(fc.property(doc, seeds, fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...EDITS)), { minLength: 1, maxLength: 3 }), (t, escSeed, edits) => {
    let text = write(t, pick(['', ' '], escSeed), pick([0, 1, 2], escSeed));
    check(text.slice(0, edits[0][0] % (text.length + 1)));
    for (const [pos, op, ch] of edits) {
      const p = pos % (text.length + 1);
      text = op % 3 === 0 ? text.slice(0, p) + text.slice(p + 1) : op % 3 === 1 ? text.slice(0, p) + ch + text.slice(p) : text.slice(0, p) + ch + text.slice(p + 1);
    }
    check(text);
  }), { numRuns: 4000 });
});

test('the cases one by one', () => {
  const items = '[{"id":"a","n":1},{"id":"b\\u0041","id":"c"},{"id":"d","id":7},{"x":{"id":"nested"}},42,"s",[{"id":"z"}],{}]';
  const text = `{"version":3,"state":{"projectId":"p","contentItems":${items}}}`;
  expect(check(text, true)).toBe(true);
  const o = outlineJson(text, SPEC)!;
  expect(o.list(['state', 'contentItems'])!.keys).toEqual(['a', 'c', null, null, null, null, null, null]);
  expect(text.slice(o.value(['version'])!.start, o.value(['version'])!.end)).toBe('3');
  // A repeated name on a wanted path: JSON.parse keeps the last, the outline declines.
  expect(outlineJson('{"state":{"contentItems":[1]},"state":{"x":1}}', SPEC)).toBeNull();
  expect(outlineJson('{"state":{"contentItems":[1],"contentItems":[2]}}', SPEC)).toBeNull();
  expect(outlineJson('{"version":1,"version":2}', SPEC)).toBeNull();
  // Repeated elsewhere: answered.
  expect(check('{"other":1,"other":2,"state":{"contentItems":[],"x":1,"x":2}}', true)).toBe(true);
  // Not JSON, each for one reason.
  for (const bad of ['', ' ', '[1,]', '[,1]', '{"a":1,}', '{"a" 1}', '{a:1}', '[01]', '[-]', '[1.]', '[.5]', '[1e]', '[1e+]', '[+1]', '[tru]', '[nul]', '[True]',
    '["\\x"]', '["\\u12"]', '["\\u12G4"]', '["a\nb"]', '["a\tb"]', '["\u0000"]', '["abc]', '[1] 2', '[1]]', '{"a":1}}', '[\u00a0]', '\ufeff[]', '["\\"]', '[NaN]', '[Infinity]', '[1,2', '{"a":[}', '{"a"}']) {
    expect(() => JSON.parse(bad)).toThrow();
    expect(outlineJson(bad, SPEC)).toBeNull();
  }
  // JSON, each with something the scan must get right.
  for (const good of ['[]', '{}', ' [ ] ', '\t\n\r[\t1\n,\r2 ]\n', '["\\\\"]', '["\\\\\\""]', '["\\/\\b\\f\\n\\r\\t\\u00e9\\uD800"]', '[-0.5e-7,0,1E+2,-0]', '[true,false,null]',
    '"just a string"', '12', '{"__proto__":{"id":"p"},"state":{"contentItems":[{"__proto__":1,"id":"q"}]}}', '["\ud800"]', '{"state":{"contentItems":{"not":"a list"}}}', '{"state":[[1]]}']) {
    expect(check(good, true)).toBe(true);
  }
});
