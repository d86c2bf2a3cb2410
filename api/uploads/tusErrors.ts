/**
 * Every /v1/uploads failure leaves in the docs/http-api.md §2 error form, {"error":{"code","message","details"}},
 * with the status the tus protocol prescribes. @tus/server throws its ERRORS values ({status_code, body}
 * with a plain-text body); `onResponseError` turns those, and our AppErrors, into JSON bodies, and the
 * adapter (index.ts) wraps the few plain-text answers tus writes without throwing (412, header checks).
 */
import { ERRORS } from '@tus/utils';
import { AppError } from '../../core/errors';
import type { Logger } from '../../core/logger';

type TusError = { status_code: number; body: string };

/** tus error body → our code and a message that says what to do. */
const BY_BODY = new Map<string, [string, string]>([
  // "If the offsets do not match, the Server MUST respond with the 409 Conflict status without modifying
  // the upload resource." (tus 1.0.0, PATCH)
  [ERRORS.INVALID_OFFSET.body, ['upload_offset_conflict', "Upload-Offset does not match the upload's offset on the server. Ask for it with HEAD and resume from there."]],
  [ERRORS.FILE_NO_LONGER_EXISTS.body, ['upload_expired', 'This upload has expired (or its bytes were removed) and can no longer be resumed. Start a new upload.']],
  [ERRORS.FILE_NOT_FOUND.body, ['upload_not_found', 'There is no such upload. Create one with POST /v1/uploads.']],
  [ERRORS.ERR_SIZE_EXCEEDED.body, ['upload_length_exceeded', 'This chunk would go past the Upload-Length declared when the upload was created.']],
  [ERRORS.INVALID_LENGTH.body, ['upload_length_required', 'Send Upload-Length (the size of the whole dump) when creating an upload; deferring the length is not supported.']],
  [ERRORS.INVALID_METADATA.body, ['invalid_upload_metadata', 'Upload-Metadata is malformed: comma-separated "key base64value" pairs, each key once.']],
  [ERRORS.MISSING_OFFSET.body, ['upload_offset_required', 'A PATCH must carry Upload-Offset.']],
  [ERRORS.INVALID_CONTENT_TYPE.body, ['invalid_content_type', 'A PATCH must carry Content-Type: application/offset+octet-stream.']],
  [ERRORS.INVALID_TERMINATION.body, ['upload_finished', 'A finished upload cannot be terminated: it is the stored dump of a migration batch.']],
  [ERRORS.ABORTED.body, ['upload_aborted', 'The request was stopped (the connection dropped, or another request took over this upload). Ask for the offset with HEAD and resume.']],
  [ERRORS.ERR_LOCK_TIMEOUT.body, ['upload_busy', 'Another request is still writing to this upload. Retry shortly.']],
  [ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION.body, ['upload_length_required', 'Deferring the upload length is not supported: send Upload-Length.']],
  [ERRORS.UNSUPPORTED_CONCATENATION_EXTENSION.body, ['concatenation_unsupported', 'Parallel (concatenated) uploads are not supported: upload the dump sequentially.']],
  [ERRORS.FILE_WRITE_ERROR.body, ['upload_write_failed', 'The chunk could not be stored completely. Ask for the offset with HEAD and resume.']],
]);

export function errorBody(code: string, message: string, details?: unknown): string {
  return JSON.stringify({ error: { code, message, ...(details === undefined ? {} : { details }) } });
}

function isTusError(err: unknown): err is TusError {
  return typeof err === 'object' && err !== null && typeof (err as TusError).status_code === 'number' && typeof (err as TusError).body === 'string';
}

/** The `onResponseError` hook: maps what a tus handler threw to our JSON form. */
export function mapTusError(err: unknown, maxBytes: number, log: Logger, declaredLength?: number): TusError {
  if (err instanceof AppError) return { status_code: err.status, body: errorBody(err.code, err.message, err.details) };
  if (isTusError(err)) {
    // "If the length of the upload exceeds the maximum, which MAY be specified using the Tus-Max-Size
    // header, the Server MUST respond with the 413 Request Entity Too Large status." (tus 1.0.0, Creation)
    // tus answers the same error for bytes past the Upload-Length an upload was created with: that one is
    // the chunk's fault (a creation that declares a length within the maximum, or any PATCH).
    if (err.body === ERRORS.ERR_MAX_SIZE_EXCEEDED.body && !(declaredLength! > maxBytes)) {
      return { status_code: 413, body: errorBody('upload_length_exceeded', BY_BODY.get(ERRORS.ERR_SIZE_EXCEEDED.body)![1]) };
    }
    if (err.body === ERRORS.ERR_MAX_SIZE_EXCEEDED.body) {
      return { status_code: 413, body: errorBody('upload_too_large', `The dump is larger than the ${maxBytes} bytes an upload may hold (Tus-Max-Size).`, { maxBytes }) };
    }
    const known = BY_BODY.get(err.body);
    if (known) return { status_code: err.status_code, body: errorBody(known[0], known[1]) };
    if (err.status_code < 500) return { status_code: err.status_code, body: errorBody('upload_refused', err.body.trim()) };
  }
  log.error({ err: err instanceof Error ? err.stack : String((err as TusError)?.body ?? err) }, 'upload request failed');
  return { status_code: 500, body: errorBody('internal', 'Something went wrong on our side while handling the upload. Ask for the offset with HEAD and resume; report it if it persists.') };
}

/** For responses tus wrote itself as plain text (no Tus-Resumable: 412; invalid headers: 400; others). */
export function wrapPlainError(status: number, text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (parsed && typeof parsed === 'object' && parsed.error) return text;
  } catch {
    // plain text: wrapped below
  }
  const message = text.trim() || `The upload request was refused (HTTP ${status}).`;
  if (status === 412) return errorBody('tus_version_required', 'Send "Tus-Resumable: 1.0.0" with every request to /v1/uploads (tus 1.0.0).');
  if (status === 400) return errorBody('invalid_tus_headers', `${message}. Check the tus headers of the request.`);
  return errorBody('upload_refused', message);
}
