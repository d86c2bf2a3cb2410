/** Report text (reasons, reject paths, notes, errors) Postgres takes whatever ids a dump holds (format/bounds.ts). */
import fc from 'fast-check';
import { isStorableText, printableJson, printableText } from '../../format';

const unstorable = fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff');
const text = fc.array(fc.oneof(fc.string(), unstorable, fc.constant('\\'), fc.constant('\\u0000'), fc.constant('😀')), { maxLength: 8 }).map((parts) => parts.join(''));

test('printableText: storable, unchanged when it already was, the unstorable characters as visible escapes', () => {
  fc.assert(fc.property(text, (s) => {
    const p = printableText(s);
    expect(isStorableText(p)).toBe(true);
    if (isStorableText(s)) expect(p).toBe(s);
  }));
  expect(printableText('a\u0000b\ud800c😀')).toBe('a\\u0000b\\ud800c😀');
});

test('printableJson: JSON that parses to the value with every string and key made printable', () => {
  const printable = (v: unknown): unknown =>
    typeof v === 'string' ? printableText(v) : Array.isArray(v) ? v.map(printable) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [printableText(k), printable(x)])) : v;
  fc.assert(fc.property(fc.dictionary(text, fc.oneof(text, fc.array(text), fc.integer())), (v) => {
    const json = printableJson(v);
    expect(JSON.parse(json)).toEqual(printable(v));
    expect(json).not.toMatch(/(?<!\\)(?:\\\\)*\\u(0000|d[89a-f])/);
  }));
});
