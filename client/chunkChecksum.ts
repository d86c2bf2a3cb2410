/**
 * Per-chunk integrity for tus uploads (tus 1.0.0 Checksum extension; docs/http-api.md §2): every PATCH
 * carries `Upload-Checksum: sha256 <base64>` of the bytes it sends, so a chunk altered in transit is refused
 * by the server at that chunk (460 Checksum Mismatch, offset unchanged) and sent again, instead of the
 * whole upload failing its digest at the end.
 *
 * tus-js-client 4.x has no checksum support, and onBeforeRequest cannot see the body; the sound seam is the
 * HTTP stack: this one wraps tus-js-client's own and, for a PATCH, hashes the body it is handed (the Blob
 * slice of this chunk) before sending it. crypto.subtle where the page is a secure context (the chunk is
 * one ArrayBuffer of chunkSize bytes), else @noble/hashes.
 */
import { DefaultHttpStack, type DetailedError, type HttpRequest, type HttpStack } from 'tus-js-client';
import { sha256 } from './digest';

/** "460 Checksum Mismatch": the server did not keep the chunk; tus-js-client resends it (onShouldRetry). */
export const CHECKSUM_MISMATCH = 460;

function base64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

async function bytesOf(body: unknown): Promise<Uint8Array | null> {
  if (body instanceof Blob) return new Uint8Array(await body.arrayBuffer());
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return null;
}

/** Base64 SHA-256 of a chunk. */
export async function chunkSha256(bytes: Uint8Array): Promise<string> {
  if (globalThis.isSecureContext && globalThis.crypto?.subtle) {
    return base64(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
  }
  return base64(sha256(bytes));
}

/** tus-js-client's default HTTP stack, with Upload-Checksum on every PATCH that has a body. */
export function checksummingHttpStack(inner: HttpStack = new DefaultHttpStack({})): HttpStack {
  return {
    getName: () => `Checksum(${inner.getName()})`,
    createRequest(method: string, url: string): HttpRequest {
      const req = inner.createRequest(method, url);
      if (method.toUpperCase() !== 'PATCH') return req;
      const send = req.send.bind(req);
      req.send = async (body?: unknown) => {
        const bytes = await bytesOf(body);
        if (bytes) req.setHeader('Upload-Checksum', `sha256 ${await chunkSha256(bytes)}`);
        return send(body);
      };
      return req;
    },
  };
}

/** tus-js-client's retry rule (not 4xx but 409 and 423), plus 460: the refused chunk is sent again. */
export function shouldRetryChunk(err: DetailedError): boolean {
  const status = err.originalResponse?.getStatus() ?? 0;
  const online = typeof navigator === 'undefined' || navigator.onLine !== false;
  return (status < 400 || status > 499 || status === 409 || status === 423 || status === CHECKSUM_MISMATCH) && online;
}
