/**
 * Inline `data:` URLs (docs/catalyst-layout.md §5: image fields are `z.string()` "URL or base64", so base64
 * images can sit inside `content-storage`; asset lists and `VisualIdentity.logoUrl` are strings too).
 * They are decoded to bytes, handed to the pipeline as content-addressed blobs, and the string is
 * replaced by `ctx.assetUrl(sha256)`.
 *
 * Decision (brief: "choose"): a string that starts like a data URL but does not decode is KEPT as is
 * (nothing is lost, the row is still written) and reported as an ElementReject 'invalid_data_url'
 * naming its path, so a person can fix it. The reason never repeats the payload.
 */
import { createHash } from 'node:crypto';
import type { BlobToStore, ElementReject, TransformContext } from '../types';
import { isRecord } from './util';

/** `data:` directly followed by something (no space): plain text such as "data: 42" is not a data URL. */
const CANDIDATE = /^data:[^\s]/i;
/** RFC 2397 `[<mediatype>][;base64]` before the comma; mediatype = type/subtype plus `;name=value` params. */
const HEADER = /^data:((?:[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+)?)((?:;[a-z0-9!#$&^_.+-]+=[^;,]*)*)(;base64)?$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function isDataUrlCandidate(s: unknown): s is string {
  return typeof s === 'string' && CANDIDATE.test(s);
}

export type Decoded = { ok: true; contentType: string; bytes: Buffer } | { ok: false; reason: string };

/** Percent-decodes to BYTES (a `%FF` is one byte, not a UTF-8 character); other characters are UTF-8. */
function percentDecode(s: string): Buffer | null {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      for (const b of Buffer.from(ch, 'utf8')) out.push(b);
      i += ch.length - 1;
    }
  }
  return Buffer.from(out);
}

export function decodeDataUrl(s: string): Decoded {
  const comma = s.indexOf(',');
  if (comma < 0) return { ok: false, reason: 'it has no "," between header and payload' };
  const header = HEADER.exec(s.slice(0, comma));
  if (!header) return { ok: false, reason: 'its media type header is malformed' };
  // RFC 2397 default media type when none is given.
  const mediaType = header[1] ? header[1].toLowerCase() + header[2] : `text/plain${header[2] || ';charset=US-ASCII'}`;
  const payload = s.slice(comma + 1);
  if (header[3]) {
    const b64 = payload.replace(/\s+/g, '');
    if (b64.length % 4 !== 0 || !BASE64.test(b64)) return { ok: false, reason: 'its base64 payload is malformed' };
    return { ok: true, contentType: mediaType, bytes: Buffer.from(b64, 'base64') };
  }
  const bytes = percentDecode(payload);
  return bytes ? { ok: true, contentType: mediaType, bytes } : { ok: false, reason: 'its percent-encoded payload is malformed' };
}

/** Collects blobs for one TransformResult, once per digest. */
export class BlobCollector {
  private readonly byDigest = new Map<string, BlobToStore>();
  constructor(private readonly ctx: TransformContext) {}

  get blobs(): BlobToStore[] {
    return [...this.byDigest.values()];
  }

  /**
   * The replacement for `s`: `ctx.assetUrl(sha)` for a decodable data URL, `s` itself otherwise
   * (a malformed data URL also adds an 'invalid_data_url' reject at `path`).
   */
  replace(s: string, path: string, rejects: ElementReject[]): string {
    if (!isDataUrlCandidate(s)) return s;
    const d = decodeDataUrl(s);
    if (!d.ok) {
      rejects.push({ path, code: 'invalid_data_url', reason: `${path} looks like a data: URL but ${d.reason}; the original string was kept` });
      return s;
    }
    const sha256 = createHash('sha256').update(d.bytes).digest('hex');
    if (!this.byDigest.has(sha256)) this.byDigest.set(sha256, { sha256, contentType: d.contentType, bytes: d.bytes });
    return this.ctx.assetUrl(sha256);
  }

  /**
   * `v` with every data URL string (at any depth of plain objects/arrays) replaced. Copy on write: what holds
   * no data URL is returned as it is (a 200,000-item content-storage is not copied once more), and the
   * paths of rejects are only built when a reject is made.
   */
  replaceDeep(v: unknown, path: string, rejects: ElementReject[]): unknown {
    return this.walk(v, () => path, rejects);
  }

  private walk(v: unknown, path: () => string, rejects: ElementReject[]): unknown {
    if (typeof v === 'string') return isDataUrlCandidate(v) ? this.replace(v, path(), rejects) : v;
    if (Array.isArray(v)) {
      let out: unknown[] | null = null;
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        // Leaves that cannot hold a data URL are passed without building their path's closure.
        if (x === null || (typeof x !== 'object' && !isDataUrlCandidate(x))) continue;
        const y = this.walk(x, () => `${path()}[${i}]`, rejects);
        if (y !== x) (out ??= v.slice())[i] = y;
      }
      return out ?? v;
    }
    if (isRecord(v)) {
      let out: Record<string, unknown> | null = null;
      for (const k of Object.keys(v)) {
        const x = v[k];
        if (x === null || (typeof x !== 'object' && !isDataUrlCandidate(x))) continue;
        const y = this.walk(x, () => `${path()}.${k}`, rejects);
        if (y !== x) (out ??= { ...v })[k] = y;
      }
      return out ?? v;
    }
    return v;
  }
}
