import { decodeDataUrl } from '../../jobs/transforms/catalyst/dataUrls';
import { toDate } from '../../jobs/transforms/catalyst';
import { PNG_B64, PNG_DATA_URL } from './fixtures';

describe('toDate', () => {
  test('accepts ISO strings, Date objects and epoch ms', () => {
    expect(toDate('2025-08-12T07:00:34.567Z')).toEqual(new Date('2025-08-12T07:00:34.567Z'));
    expect(toDate(new Date('2025-08-12T07:00:34.567Z'))).toEqual(new Date('2025-08-12T07:00:34.567Z'));
    expect(toDate(1754981234999)).toEqual(new Date(1754981234999));
    expect(toDate('2025-08-12')).toEqual(new Date('2025-08-12T00:00:00Z'));
    expect(toDate('2025-08-12T07:00:00+02:00')).toEqual(new Date('2025-08-12T05:00:00Z'));
  });
  test('a string without offset is read as UTC, never server-local time', () => {
    expect(toDate('2025-08-12T07:00:00')).toEqual(new Date('2025-08-12T07:00:00Z'));
    expect(toDate('2025-08-12 07:00:00')).toEqual(new Date('2025-08-12T07:00:00Z'));
  });
  test('missing is null', () => {
    expect(toDate(undefined)).toBeNull();
    expect(toDate(null)).toBeNull();
  });
  test('invalid is reported, not guessed', () => {
    for (const v of [new Date(NaN), '2025-02-30T00:00:00Z', '2025-13-01', 'yesterday', 'Tue Aug 12 2025', '', true, {}, NaN, Infinity]) {
      expect([v, toDate(v)]).toEqual([v, 'invalid']);
    }
  });
  test('returns a copy, not the input Date', () => {
    const d = new Date('2025-08-12T07:00:00Z');
    expect(toDate(d)).not.toBe(d);
  });
});

describe('decodeDataUrl', () => {
  test('base64', () => {
    const d = decodeDataUrl(PNG_DATA_URL);
    expect(d).toEqual({ ok: true, contentType: 'image/png', bytes: Buffer.from(PNG_B64, 'base64') });
  });
  test('percent-encoded, with parameters', () => {
    const d = decodeDataUrl('data:image/svg+xml;charset=utf-8,%3Csvg%2F%3E');
    expect(d).toEqual({ ok: true, contentType: 'image/svg+xml;charset=utf-8', bytes: Buffer.from('<svg/>') });
  });
  test('default media type (RFC 2397)', () => {
    expect(decodeDataUrl('data:,hi')).toMatchObject({ ok: true, contentType: 'text/plain;charset=US-ASCII' });
  });
  test('malformed', () => {
    expect(decodeDataUrl('data:image/png;base64')).toMatchObject({ ok: false });
    expect(decodeDataUrl('data:image/png;base64,@@@')).toMatchObject({ ok: false });
    expect(decodeDataUrl('data:image/png;base64,abc')).toMatchObject({ ok: false });
    expect(decodeDataUrl('data:text/plain,%zz')).toMatchObject({ ok: false });
    expect(decodeDataUrl('data:not a type,x')).toMatchObject({ ok: false });
  });
});
