import { decodeDataUrl } from '../../jobs/transforms/catalyst/dataUrls';
import { toDate } from '../../jobs/transforms/catalyst';
import { readDate } from '../../jobs/transforms/catalyst/dates';
import type { ElementReject } from '../../jobs/transforms/types';
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
  test('a date outside the years 1–9999 is invalid: Postgres reads neither year 0 nor +010000 (found by properties.test.ts)', () => {
    for (const v of [-8.64e15, 8.64e15, new Date(-8.64e15), new Date('+010000-01-01T00:00:00Z'), '0000-06-01T00:00:00Z', Date.parse('0000-12-31T23:59:59.999Z')]) {
      expect([v, toDate(v)]).toEqual([v, 'invalid']);
    }
    expect(toDate('0001-01-01T00:00:00Z')).toEqual(new Date('0001-01-01T00:00:00Z'));
    expect(toDate('9999-12-31T23:59:59.999Z')).toEqual(new Date('9999-12-31T23:59:59.999Z'));
    const rejects: ElementReject[] = [];
    readDate(-8.64e15, 'lastActivity', rejects);
    expect(rejects).toEqual([expect.objectContaining({ code: 'invalid_date', reason: expect.stringContaining('outside the years 1 to 9999') })]);
  });
  test('toISOString\'s own form (read digit by digit) gives what the general parse gives, and the same refusals', () => {
    // The general parse reads a string with an offset; "+00:00" takes it past the canonical fast path.
    const general = (v: string) => toDate(`${v.slice(0, 23)}+00:00`);
    const days = ['2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29', '2025-04-31', '2025-12-31', '2025-02-30', '0100-01-01', '0099-12-31', '9999-12-31', '2025-00-10', '2025-13-10', '2025-01-00'];
    const times = ['00:00:00.000', '23:59:59.999', '24:00:00.000', '12:60:00.000', '12:00:60.000', '07:13:20.123'];
    for (const d of days) for (const t of times) {
      const v = `${d}T${t}Z`;
      expect([v, toDate(v)]).toEqual([v, general(v)]);
    }
    for (const v of ['2025-08-12T07:13:20.000z', '2025-08-12T07:13:2x.000Z', '2025-08-12T07:13:20,000Z', '+02025-08-12T07:13:20.000Z']) expect([v, toDate(v)]).toEqual([v, 'invalid']);
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
