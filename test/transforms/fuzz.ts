/**
 * Fuzzing around the real Catalyst shapes (test/fixtures/catalystDump.ts, docs/catalyst-layout.md §3): each
 * field of a real value is kept, dropped, replaced by junk (nulls, wrong types, huge numbers, invalid or
 * out-of-range dates, data: URLs, U+0000, long strings) or fuzzed in turn; arrays lose, repeat and gain
 * elements. And the check every row must pass before it reaches SQL: what Postgres would refuse (a
 * varchar too long, a date out of timestamptz range, a value JSON cannot carry) fails the whole page, so a
 * transform must never return it.
 */
import 'reflect-metadata';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { ENTITIES } from '../../entities';
import { tableSpec } from '../../jobs/write/tableSpec';
import { toRecord } from '../../jobs/write/upsertRows';
import type { Row, TableName } from '../../jobs/transforms/types';
import { anyDate, anyString, decodedValue, objectOf } from '../format/arbitraries';
import { PNG_DATA_URL } from './fixtures';

const DROP = Symbol('drop');
const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

const hugeNumber = fc.constantFrom(1e308, -1e308, 8.64e15, -8.64e15, 8.64e15 + 1, -62198755200001, -210866803200001, Number.MAX_SAFE_INTEGER, 2 ** 31, -1, 0.5, 1e21, 1754981234567);
const dateString = fc.constantFrom(
  '2025-02-30T00:00:00Z', '2025-13-01', 'not a date', '', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '2025-08-12 07:00:00',
  '2025-08-12T07:00:00+14:00', '1754981234567', '-271821-04-20T00:00:00Z', '+275760-09-13T00:00:00Z', '2025-08-12T24:00:00Z',
);
const dataUrl = fc.constantFrom(
  PNG_DATA_URL, 'data:image/png;base64,@@@', 'data:,hello%20world', 'data:text/plain,%ZZ', 'data:x', 'data:;base64,QUJD',
  PNG_DATA_URL.toUpperCase(), 'data:image/svg+xml;charset=utf-8,<svg/>', 'data:image/png;base64,QUJ D',
);
const junkString = fc.oneof(anyString, fc.constantFrom('x'.repeat(300), 'é'.repeat(256), '\u0000', '\ud800', 'main', 'default'), dateString, dataUrl);

/** What JSON text (localStorage values, chat JSON) can hold. */
export const jsonJunk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null), fc.boolean(), hugeNumber, fc.integer(), junkString, fc.constant([]), fc.constant({}),
  fc.jsonValue({ maxDepth: 2 }), fc.constant({ $t: 'Date', v: 'x' }),
);
/** What a §1c-decoded IndexedDB value can hold on top: undefined, bigint, Dates (invalid, extreme), Maps, binaries… */
export const idbJunk: fc.Arbitrary<unknown> = fc.oneof(
  jsonJunk, fc.constant(undefined), fc.bigInt(), anyDate, fc.constantFrom(NaN, Infinity, -0), decodedValue,
);

/** `base` with each part kept, dropped, replaced by junk or fuzzed recursively. */
export function fuzz(base: unknown, junk: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return part(base, junk).map((v) => (v === DROP ? undefined : v));
}

function part(v: unknown, junk: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  let keep: fc.Arbitrary<unknown> = fc.constant(v);
  if (Array.isArray(v)) {
    keep = fc.tuple(fc.tuple(...v.map((x) => part(x, junk))), fc.array(junk, { maxLength: 2 }), fc.boolean())
      .map(([xs, extra, repeat]) => {
        const out = xs.filter((x) => x !== DROP);
        if (repeat && out.length) out.push(out[0]); // the same element twice (duplicate ids)
        return [...out, ...extra];
      });
  } else if (isPlain(v)) {
    const entries = Object.entries(v);
    keep = fc.tuple(fc.tuple(...entries.map(([, x]) => part(x, junk))), fc.array(fc.tuple(fc.constantFrom('extra', '$t', '__proto__', 'id'), junk), { maxLength: 1 }))
      .map(([vals, extra]) => objectOf([...entries.map(([k], i): [string, unknown] => [k, vals[i]]).filter(([, x]) => x !== DROP), ...extra]));
  }
  return fc.oneof({ weight: 8, arbitrary: keep }, { weight: 1, arbitrary: junk }, { weight: 1, arbitrary: fc.constant(DROP) });
}

/** A localStorage value: the JSON text of a fuzzed value, or text that is not JSON at all. */
export function lsText(base: unknown): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fuzz(base, jsonJunk).map((v) => JSON.stringify(v) ?? 'undefined') },
    { weight: 1, arbitrary: fc.oneof(anyString, fc.constant(JSON.stringify(base).slice(0, 20))) },
  );
}

// ---- rows as Postgres would take them ----

let ds: DataSource | undefined;
/** Entity metadata without a connection: TypeORM builds it from the decorators. */
export async function metadata(): Promise<DataSource> {
  if (!ds) {
    ds = new DataSource({ type: 'postgres', entities: ENTITIES });
    await (ds as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
  }
  return ds;
}

/** timestamptz holds 4713 BC to 294276 AD; JS Dates reach 271821 BC. */
const PG_MIN_MS = Date.UTC(-4712, 10, 24);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Why Postgres would refuse `row` in `table` (null if it would take it). A row the write path itself
 * refuses with a reason (toRecord) is fine: it becomes a reject, not a failed page.
 */
export function sqlProblem(table: TableName, row: Row): string | null {
  const spec = tableSpec(ds!, table);
  const rec = toRecord(spec, row);
  if (typeof rec === 'string') return null;
  const meta = ds!.entityMetadatas.find((m) => m.tableName === table)!;
  for (const c of meta.columns) {
    const v = rec[c.databaseName];
    if (c.databaseName === 'batch_id') continue;
    const where = `${table}.${c.databaseName}`;
    if (v === null || v === undefined) {
      if (!c.isNullable) return `${where} is null`;
      continue;
    }
    switch (String(c.type)) {
      case 'varchar':
        if (typeof v !== 'string' || [...v].length > Number(c.length)) return `${where} is not text of at most ${c.length} characters`;
        break;
      case 'text':
        if (typeof v !== 'string') return `${where} is a ${typeof v}, not text`;
        break;
      case 'uuid':
        if (typeof v !== 'string' || !UUID.test(v)) return `${where} is not a uuid`;
        break;
      case 'integer':
        if (!Number.isInteger(v) || Math.abs(v as number) > 2 ** 31 - 1) return `${where} is not an int4`;
        break;
      case 'bigint':
        if (typeof v !== 'string' || !/^-?\d{1,18}$/.test(v)) return `${where} is not a bigint`;
        break;
      case 'timestamptz':
        if (!(v instanceof Date) || Number.isNaN(v.getTime()) || v.getTime() < PG_MIN_MS) return `${where} is not a date Postgres can store`;
        break;
      case 'jsonb':
        try {
          JSON.stringify(v);
        } catch (err) {
          return `${where} cannot be sent as JSON: ${(err as Error).message}`;
        }
        break;
    }
  }
  return null;
}
