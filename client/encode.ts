/**
 * docs/format.md §1c in the browser: structured-clone values (what IndexedDB hands back) → JSON.
 *
 * format/codec.ts is the reference, but it leans on Node (`Buffer`, `node:util` types), so the browser
 * gets this twin, written against the same tags. Compatibility is proven by decoding this encoder's
 * output with format/'s decodeValue (test/client/encode.test.ts, and test/client/snapshot.test.ts for
 * values made by Chromium itself).
 *
 * Keep this file free of DOM-only APIs: it uses Blob, File, btoa and typed arrays, which Node 20 has
 * too, so the unit tests can run it under Node and the root tsconfig can compile it.
 */
import type { Json } from './types';

/** Views §1c names; each gets its own tag so a decoder can rebuild the same kind. */
const VIEW_KINDS = new Set([
  'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Float16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
]);

export class EncodeError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

type Path = Array<string | number>;
type Obj = { [k: string]: Json };

function where(path: Path): string {
  return path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
}

/** Assigns without triggering the `__proto__` setter, as JSON.parse does. */
function setOwn(o: Obj, k: string, v: Json): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** Base64 of bytes: the native method where the engine has it, else chunked btoa (no call-stack blowups). */
export function bytesToBase64(bytes: Uint8Array): string {
  const native = (bytes as Uint8Array & { toBase64?: () => string }).toBase64;
  if (typeof native === 'function') return native.call(bytes);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Object.prototype.toString's tag: works across realms (iframes, jest's vm), unlike instanceof. */
function tagOf(v: object): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

/**
 * Encodes one value per §1c. Async only because Blob bytes are: everything else is encoded in one
 * synchronous walk, and the walk leaves each Blob/File tag waiting for its `b64`, filled in before return.
 */
export async function encodeValue(value: unknown): Promise<Json> {
  const { json, pending } = encodeNow(value);
  await Promise.all(pending);
  return json;
}

/** What encodeNow() gives: the encoded value, complete once `pending` (the Blobs' bytes) settles. */
export interface Encoding {
  json: Json;
  pending: Promise<void>[];
  /** Bytes of the Blobs still being read (their base64 is about 4/3 of that). */
  pendingBytes: number;
}

/**
 * The synchronous part of encodeValue(): everything but Blob bytes, at once. An IndexedDB cursor uses it
 * inside its success callback (its transaction stays open only that long), so a record is turned into
 * its line while it is read and the raw value is never kept.
 */
export function encodeNow(value: unknown): Encoding {
  const pending: Pending = { reads: [], bytes: 0 };
  const json = encode(value, [], new Set(), pending);
  return { json, pending: pending.reads, pendingBytes: pending.bytes };
}

/** The Blob reads one walk started, and their size. */
interface Pending {
  reads: Promise<void>[];
  bytes: number;
}

function encode(value: unknown, path: Path, stack: Set<object>, pending: Pending): Json {
  switch (typeof value) {
    case 'string': case 'boolean': return value;
    case 'undefined': return { $t: 'undefined' };
    case 'bigint': return { $t: 'bigint', v: value.toString() };
    case 'number':
      if (Object.is(value, -0)) return { $t: 'number', v: '-0' };
      return Number.isFinite(value) ? value : { $t: 'number', v: String(value) }; // "NaN", "Infinity", "-Infinity"
    case 'function': case 'symbol':
      throw new EncodeError(`A ${typeof value} at ${where(path)} cannot be put in a dump (structured clone cannot hold one either).`, where(path));
  }
  if (value === null) return null;
  const obj = value as object;
  // Structured clone keeps cycles; JSON cannot. Say where, instead of overflowing the stack.
  if (stack.has(obj)) throw new EncodeError(`The value refers to itself at ${where(path)}; a dump cannot hold cycles.`, where(path));
  stack.add(obj);
  try {
    return encodeObject(obj, path, stack, pending);
  } finally {
    stack.delete(obj);
  }
}

function encodeObject(obj: object, path: Path, stack: Set<object>, pending: Pending): Json {
  const inner = (x: unknown, seg: string | number): Json => {
    path.push(seg);
    try { return encode(x, path, stack, pending); } finally { path.pop(); }
  };
  if (Array.isArray(obj)) {
    const out: Json[] = new Array(obj.length);
    // Holes have no JSON form; reading one gives undefined, so that is what they become (as format/ does).
    for (let i = 0; i < obj.length; i++) out[i] = i in obj ? inner(obj[i], i) : { $t: 'undefined' };
    return out;
  }
  const tag = tagOf(obj);
  switch (tag) {
    case 'Date': {
      const t = (obj as Date).getTime();
      return { $t: 'Date', v: Number.isNaN(t) ? null : (obj as Date).toISOString() }; // invalid date: "v": null
    }
    case 'RegExp': return { $t: 'RegExp', v: { source: (obj as RegExp).source, flags: (obj as RegExp).flags } };
    case 'Map': return { $t: 'Map', v: [...(obj as Map<unknown, unknown>)].map(([k, v], i) => [inner(k, i), inner(v, i)]) };
    case 'Set': return { $t: 'Set', v: [...(obj as Set<unknown>)].map((x, i) => inner(x, i)) };
    case 'ArrayBuffer': case 'SharedArrayBuffer':
      return { $t: 'ArrayBuffer', b64: bytesToBase64(new Uint8Array(obj as ArrayBuffer)) };
    case 'Blob': case 'File': return encodeBlob(obj as Blob, tag, pending);
    // Wrapper objects (new Number(1)) survive structured clone; their primitive is the data.
    case 'Boolean': case 'Number': case 'String': case 'BigInt':
      return encode((obj as { valueOf(): unknown }).valueOf(), path, new Set(), pending);
    case 'Error': // own props of an Error are not enumerable; keep what identifies it
      return encodePlain({ name: (obj as Error).name, message: (obj as Error).message }, inner);
  }
  if (ArrayBuffer.isView(obj) && VIEW_KINDS.has(tag)) {
    return { $t: tag, b64: bytesToBase64(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength)) };
  }
  // Anything else is copied as its own enumerable keys, as structured clone does for plain objects.
  return encodePlain(obj as Record<string, unknown>, inner);
}

function encodePlain(o: Record<string, unknown>, inner: (x: unknown, seg: string) => Json): Json {
  const out: Obj = {};
  for (const k of Object.keys(o)) setOwn(out, k, inner(o[k], k));
  // §1c: "a plain object that itself has a "$t" key" is wrapped so it is not read as a tag.
  return Object.hasOwn(out, '$t') ? { $t: 'Object', v: out } : out;
}

function encodeBlob(blob: Blob, tag: 'Blob' | 'File', pending: Pending): Json {
  const out: Obj = tag === 'File'
    ? { $t: 'File', type: blob.type, size: blob.size, name: (blob as File).name, lastModified: (blob as File).lastModified, b64: '' }
    : { $t: 'Blob', type: blob.type, size: blob.size, b64: '' };
  pending.bytes += blob.size;
  pending.reads.push(blob.arrayBuffer().then((buf) => {
    out.b64 = bytesToBase64(new Uint8Array(buf));
  }));
  return out;
}
