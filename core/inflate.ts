/**
 * The one bounded gzip inflater every path that reads a compressed dump shares (a finished tus upload's
 * validation, a direct upload's, ingest): it inflates as the consumer reads, never to disk, and stops as soon
 * as the inflated bytes pass `maxBytes`, so a bomb costs at most that much work. POST /v1/dumps inflates
 * as it reads its body (api/checkedBody.ts), under its own DUMP_BODY_LIMIT (docs/http-api.md §2).
 */
import { type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * Whether an error code is a decoder's refusal of its input: zlib's (gzip, deflate: `Z_DATA_ERROR`,
 * `Z_BUF_ERROR` for a cut-off stream, also from brotli) or brotli's own (`ERR__ERROR_FORMAT_…`).
 */
export function isDecodeErrorCode(code: unknown): code is string {
  return typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR__ERROR_'));
}

/** The inflated dump passed the limit (`INFLATED_DUMP_MAX_BYTES`). */
export class InflatedTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The dump inflates to more than ${maxBytes} bytes (INFLATED_DUMP_MAX_BYTES).`);
    this.name = 'InflatedTooLargeError';
  }
}

/** The bytes are not gzip data, or the gzip stream is cut off or damaged. */
export class CorruptGzipError extends Error {
  constructor(readonly zlibCode: string | undefined, detail: string) {
    super(`The bytes do not inflate as gzip (${detail}).`);
    this.name = 'CorruptGzipError';
  }
}

export function isInflateError(err: unknown): err is InflatedTooLargeError | CorruptGzipError {
  return err instanceof InflatedTooLargeError || err instanceof CorruptGzipError;
}

/**
 * `source` (gzip) inflated, as a stream that fails with InflatedTooLargeError past `maxBytes` and with
 * CorruptGzipError on bad data; `mapError` may turn those into the caller's own error type. Destroying the
 * result stops the inflater and destroys the source.
 */
export function inflateBounded(source: NodeJS.ReadableStream, maxBytes: number, mapError: (e: Error) => Error = (e) => e): Readable {
  const gunzip = createGunzip();
  let total = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (total > maxBytes) cb(mapError(new InflatedTooLargeError(maxBytes)));
      else cb(null, chunk);
    },
  });
  source.on('error', (e: Error) => out.destroy(e));
  gunzip.on('error', (e: Error & { code?: string }) => {
    out.destroy(mapError(isDecodeErrorCode(e.code) ? new CorruptGzipError(e.code, e.message) : e));
  });
  out.on('close', () => {
    gunzip.destroy();
    (source as Readable).destroy?.();
  });
  source.pipe(gunzip).pipe(out);
  return out;
}
