/**
 * Postgres text and jsonb cannot hold U+0000, nor lone UTF-16 surrogates. Such strings are kept
 * losslessly: inside jsonb they become {"$t":"String","utf16le":"<base64>"} (the dump's own tag style);
 * a text column cannot hold a tag, so a row with one there is refused with a reason (its entry stays raw
 * in dump_entries and the report says why).
 */
import { types } from 'node:util';
import { encodeValue, isBinaryValue, isStorableText } from '../../format';

export function tagString(s: string): { $t: 'String'; utf16le: string } {
  return { $t: 'String', utf16le: Buffer.from(s, 'utf16le').toString('base64') };
}

/**
 * The deepest a jsonb value may nest: the dump format's MAX_VALUE_DEPTH (1000) plus room for the levels a
 * transform wraps around a value. This walk and JSON.stringify recurse, so a deeper value (built by a
 * transform from JSON text inside a string, say) would overflow the stack and fail the whole page, every
 * attempt; instead its row is refused with a reason, like unstorable text in a text column.
 */
export const MAX_JSONB_DEPTH = 1200;

export class TooDeepError extends Error {
  constructor() {
    super(`nests arrays/objects more than ${MAX_JSONB_DEPTH} levels deep, more than can be stored; the raw entry is kept`);
  }
}

/**
 * Values JSON cannot carry: a bigint would make JSON.stringify throw (failing the whole page, every attempt),
 * and NaN/±Infinity, Maps, Sets, RegExps and binaries would silently become null or {}. IndexedDB values hold
 * them (§1c decodes them), so they are stored in their §1c tagged form, losslessly, as the dump carried them.
 */
function notJson(v: unknown): boolean {
  return typeof v === 'bigint' || (typeof v === 'number' && !Number.isFinite(v))
    || types.isMap(v) || types.isSet(v) || types.isRegExp(v) || isBinaryValue(v) || ArrayBuffer.isView(v) || types.isAnyArrayBuffer(v);
}

/** Returns the value with every unstorable string and non-JSON value tagged (copying only what changes); throws TooDeepError. */
export function storableJson(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return isStorableText(v) ? v : tagString(v);
  if (notJson(v)) {
    let tagged: unknown;
    try {
      tagged = encodeValue(v);
    } catch {
      throw new TooDeepError(); // the only thing encodeValue refuses in a decoded value: nesting too deep
    }
    return storableJson(tagged, depth);
  }
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && depth >= MAX_JSONB_DEPTH) throw new TooDeepError();
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    v.forEach((x, i) => {
      const y = storableJson(x, depth + 1);
      if (y !== x) (out ??= v.slice())[i] = y;
    });
    return out ?? v;
  }
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    let out: Record<string, unknown> | null = null;
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      const y = storableJson(x, depth + 1);
      const key = isStorableText(k) ? k : `$utf16le:${Buffer.from(k, 'utf16le').toString('base64')}`;
      if (y !== x || key !== k) {
        out ??= { ...(v as Record<string, unknown>) };
        if (key !== k) delete out[k];
        out[key] = y;
      }
    }
    return out ?? v;
  }
  return v;
}
