import { decodeValue, encodeValue, isTagged, isBinaryValue, DumpFormatError } from '../../format';

/** What the uploader does: encode, send as JSON text, decode on the server. */
const viaJson = (x: unknown) => decodeValue(JSON.parse(JSON.stringify(encodeValue(x))));

function codeOf(fn: () => unknown): { code?: string; details?: unknown; message?: string } {
  try { fn(); } catch (e) { return e as DumpFormatError; }
  throw new Error('expected a throw');
}

describe('decodeValue: every §1c tag', () => {
  test('JSON values stand for themselves', () => {
    const v = { a: 1, b: 'x', c: [true, null, { d: 2.5 }] };
    expect(decodeValue(v)).toEqual(v);
  });

  test('Date, and an invalid date as v:null', () => {
    const d = decodeValue({ $t: 'Date', v: '2025-08-12T07:00:34.567Z' }) as Date;
    expect(d).toBeInstanceOf(Date);
    expect(d.toISOString()).toBe('2025-08-12T07:00:34.567Z');
    const bad = decodeValue({ $t: 'Date', v: null }) as Date;
    expect(bad).toBeInstanceOf(Date);
    expect(Number.isNaN(bad.getTime())).toBe(true);
  });

  test('undefined, NaN, ±Infinity, -0, bigint', () => {
    expect(decodeValue({ $t: 'undefined' })).toBeUndefined();
    expect(decodeValue({ $t: 'number', v: 'NaN' })).toBeNaN();
    expect(decodeValue({ $t: 'number', v: 'Infinity' })).toBe(Infinity);
    expect(decodeValue({ $t: 'number', v: '-Infinity' })).toBe(-Infinity);
    expect(Object.is(decodeValue({ $t: 'number', v: '-0' }), -0)).toBe(true);
    expect(decodeValue({ $t: 'bigint', v: '123456789012345678901234567890' })).toBe(123456789012345678901234567890n);
    expect(decodeValue({ $t: 'bigint', v: '-5' })).toBe(-5n);
  });

  test('Map and Set, with tags inside keys and values', () => {
    const m = decodeValue({ $t: 'Map', v: [[{ $t: 'Date', v: '2020-01-01T00:00:00.000Z' }, { $t: 'Set', v: [1, { $t: 'bigint', v: '2' }] }], ['k', 'v']] });
    expect(m).toEqual(new Map<unknown, unknown>([[new Date('2020-01-01T00:00:00.000Z'), new Set([1, 2n])], ['k', 'v']]));
  });

  test('RegExp keeps source and flags', () => {
    const r = decodeValue({ $t: 'RegExp', v: { source: '^a+\\d$', flags: 'gi' } }) as RegExp;
    expect(r).toBeInstanceOf(RegExp);
    expect([r.source, r.flags]).toEqual(['^a+\\d$', 'gi']);
  });

  test('Blob and File become BinaryValues with their bytes', () => {
    const b64 = Buffer.from('PNG\x00\x01').toString('base64');
    expect(decodeValue({ $t: 'Blob', type: 'image/png', size: 5, b64 })).toEqual({ kind: 'Blob', type: 'image/png', size: 5, bytes: Buffer.from('PNG\x00\x01') });
    const f = decodeValue({ $t: 'File', type: 'image/png', size: 5, name: 'logo.png', lastModified: 1754981234567, b64 });
    expect(f).toEqual({ kind: 'File', type: 'image/png', size: 5, name: 'logo.png', lastModified: 1754981234567, bytes: Buffer.from('PNG\x00\x01') });
    expect(isBinaryValue(f)).toBe(true);
  });

  test.each(['ArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
    'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'])('%s', (kind) => {
    const bytes = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(decodeValue({ $t: kind, b64: bytes.toString('base64') })).toEqual({ kind, bytes });
  });

  test('the Object escape keeps an inner "$t" key verbatim, but decodes nested values', () => {
    const v = decodeValue({ $t: 'Object', v: { $t: 'Date', v: 'not decoded', when: { $t: 'Date', v: '2020-01-01T00:00:00.000Z' } } });
    expect(v).toEqual({ $t: 'Date', v: 'not decoded', when: new Date('2020-01-01T00:00:00.000Z') });
  });

  test('tags nest at any depth, in arrays and objects', () => {
    let enc: unknown = { $t: 'bigint', v: '7' };
    let dec: unknown = 7n;
    for (let i = 0; i < 500; i++) { enc = i % 2 ? [enc] : { k: enc }; dec = i % 2 ? [dec] : { k: dec }; }
    expect(decodeValue(enc)).toEqual(dec);
  });

  test('does not mutate its input, and keeps a __proto__ key as own data', () => {
    const input = JSON.parse('{"__proto__":{"polluted":true},"d":{"$t":"Date","v":"2020-01-01T00:00:00.000Z"}}');
    const snapshot = JSON.stringify(input);
    const out = decodeValue(input) as Record<string, unknown>;
    expect(JSON.stringify(input)).toBe(snapshot);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('decodeValue errors', () => {
  test('unknown tag → dump_unknown_tag with the path', () => {
    const e = codeOf(() => decodeValue({ a: { b: [0, { $t: 'Weird', v: 1 }] } }, ['value']));
    expect(e).toBeInstanceOf(DumpFormatError);
    expect(e.code).toBe('dump_unknown_tag');
    expect(e.details).toMatchObject({ path: 'value.a.b[1]' });
    expect(codeOf(() => decodeValue({ $t: 5 })).code).toBe('dump_unknown_tag');
  });

  test.each([
    ['Date with a non-string', { $t: 'Date', v: 5 }],
    ['Date with garbage', { $t: 'Date', v: 'yesterday-ish' }],
    ['number other than the four', { $t: 'number', v: '12' }],
    ['bigint not an integer', { $t: 'bigint', v: '1.5' }],
    ['Map with a non-pair', { $t: 'Map', v: [[1]] }],
    ['Set without an array', { $t: 'Set', v: {} }],
    ['RegExp with bad flags', { $t: 'RegExp', v: { source: 'a', flags: 'zz' } }],
    ['Blob whose size lies', { $t: 'Blob', type: '', size: 99, b64: 'AAAA' }],
    ['Blob with bad base64', { $t: 'Blob', type: '', size: 3, b64: 'A!A' }],
    ['File without a name', { $t: 'File', type: '', size: 0, b64: '', lastModified: 1 }],
    ['Float64Array with 3 bytes', { $t: 'Float64Array', b64: 'AAAA' }],
    ['Object with an array', { $t: 'Object', v: [] }],
  ])('%s → dump_invalid_tag', (_name, enc) => {
    expect(codeOf(() => decodeValue({ x: enc })).code).toBe('dump_invalid_tag');
  });

  test('nesting past MAX_VALUE_DEPTH → dump_value_too_deep, not a stack overflow (found by test/format/properties.test.ts)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(codeOf(() => decodeValue(deep))).toMatchObject({ code: 'dump_value_too_deep' });
    let legal: unknown = 1;
    for (let i = 0; i < 1000; i++) legal = [legal];
    expect(decodeValue(legal)).toEqual(legal);
    // A Map pair sits 3 levels below its tag, in the encoded form the readers bound.
    expect(codeOf(() => decodeValue({ $t: 'Map', v: [[legal, 1]] }))).toMatchObject({ code: 'dump_value_too_deep' });
  });

  test('encodeValue refuses a cyclic value with dump_value_too_deep instead of overflowing the stack', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(codeOf(() => encodeValue(cyclic))).toMatchObject({ code: 'dump_value_too_deep' });
  });

  test('messages never quote the value', () => {
    const e = codeOf(() => decodeValue({ $t: 'Date', v: 'sk-SECRET-123' }));
    expect(e.message).not.toContain('SECRET');
  });
});

describe('encodeValue', () => {
  test('produces the §1c forms', () => {
    expect(encodeValue(new Date('2025-08-12T07:00:34.567Z'))).toEqual({ $t: 'Date', v: '2025-08-12T07:00:34.567Z' });
    expect(encodeValue(new Date(NaN))).toEqual({ $t: 'Date', v: null });
    expect(encodeValue(undefined)).toEqual({ $t: 'undefined' });
    expect(encodeValue([NaN, Infinity, -Infinity, -0, 0])).toEqual([
      { $t: 'number', v: 'NaN' }, { $t: 'number', v: 'Infinity' }, { $t: 'number', v: '-Infinity' }, { $t: 'number', v: '-0' }, 0]);
    expect(encodeValue(-12n)).toEqual({ $t: 'bigint', v: '-12' });
    expect(encodeValue(new Map([[1, 'a']]))).toEqual({ $t: 'Map', v: [[1, 'a']] });
    expect(encodeValue(new Set(['a']))).toEqual({ $t: 'Set', v: ['a'] });
    expect(encodeValue(/x/g)).toEqual({ $t: 'RegExp', v: { source: 'x', flags: 'g' } });
    expect(encodeValue({ $t: 'mine', a: 1 })).toEqual({ $t: 'Object', v: { $t: 'mine', a: 1 } });
    expect(encodeValue(Buffer.from('hi'))).toEqual({ $t: 'Uint8Array', b64: 'aGk=' });
    expect(encodeValue(new Uint16Array([1]))).toEqual({ $t: 'Uint16Array', b64: 'AQA=' });
    expect(encodeValue(new Uint8Array([1, 2, 3]).buffer)).toEqual({ $t: 'ArrayBuffer', b64: 'AQID' });
    expect(encodeValue(new DataView(new Uint8Array([9, 8, 7]).buffer, 1, 1))).toEqual({ $t: 'DataView', b64: 'CA==' });
    expect(encodeValue({ kind: 'File', type: 't', size: 2, name: 'n', lastModified: 3, bytes: Buffer.from('hi') }))
      .toEqual({ $t: 'File', type: 't', size: 2, name: 'n', lastModified: 3, b64: 'aGk=' });
  });

  test('a function cannot be encoded', () => {
    expect(codeOf(() => encodeValue({ f: () => 1 })).code).toBe('dump_unsupported_value');
  });
});

describe('round trip: decodeValue(encodeValue(x)) deep-equals x', () => {
  const bytes = Buffer.from([0, 255, 1, 254]);
  const cases: Array<[string, unknown]> = [
    ['Date', new Date('2025-08-12T07:00:34.567Z')],
    ['undefined', undefined],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['bigint', -98765432109876543210n],
    ['Map', new Map<unknown, unknown>([[{ a: 1 }, new Set([1])], [2n, undefined]])],
    ['Set', new Set([1, 'a', new Date(0)])],
    ['RegExp', /a(b)?\//imsu],
    ['Blob', { kind: 'Blob', type: 'image/png', size: 4, bytes }],
    ['File', { kind: 'File', type: 'text/plain', size: 4, name: 'a.txt', lastModified: 1754981234567, bytes }],
    ['ArrayBuffer', { kind: 'ArrayBuffer', bytes }],
    ['Int32Array', { kind: 'Int32Array', bytes }],
    ['DataView', { kind: 'DataView', bytes }],
    ['Object escape', { $t: 'Date', v: 'kept', inner: { $t: 'Object', deeper: new Date(0) } }],
    ['plain JSON', { s: 'é🙂', n: 1.5, b: false, z: null, a: [1, [2, [3]]] }],
    ['nested mix', { list: [new Map([['k', { $t: 'x', when: new Date(1) }]]), [undefined, NaN, 1n]], deep: { deeper: { s: new Set([/r/g]) } } }],
  ];
  test.each(cases)('%s', (_name, x) => {
    expect(decodeValue(encodeValue(x))).toEqual(x);
    expect(viaJson(x)).toEqual(x);
  });

  test('-0 survives (toEqual alone would not notice)', () => {
    expect(Object.is(viaJson(-0), -0)).toBe(true);
    expect(Object.is((viaJson({ a: [-0] }) as { a: number[] }).a[0], -0)).toBe(true);
  });

  test('an invalid date survives', () => {
    const d = viaJson({ d: new Date(NaN) }) as { d: Date };
    expect(d.d).toBeInstanceOf(Date);
    expect(Number.isNaN(d.d.getTime())).toBe(true);
  });
});

test('isTagged', () => {
  expect(isTagged({ $t: 'Date', v: null })).toBe(true);
  expect(isTagged({ t: 1 })).toBe(false);
  expect(isTagged([{ $t: 'x' }])).toBe(false);
  expect(isTagged(null)).toBe(false);
  expect(isTagged('$t')).toBe(false);
});
