/**
 * Object storage for dumps and upload parts: a local directory (the default) or an S3-compatible bucket.
 * Both drivers pass the same contract suite (test/contracts/objectStore.contract.ts).
 */

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

/** Byte range; both ends inclusive, like HTTP `Range: bytes=start-end`. `end` past the object is clamped. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface ObjectStore {
  readonly driver: 'fs' | 's3';
  /**
   * Streams body into key; visible only when complete (fs: temp file + rename; s3: PutObject, or a
   * multipart upload for streams larger than one part, aborted on failure). Returns bytes written.
   */
  put(key: string, body: Buffer | NodeJS.ReadableStream, opts?: { contentType?: string }): Promise<{ size: number }>;
  /** Throws ObjectNotFoundError when the key does not exist. */
  get(key: string, range?: ByteRange): Promise<NodeJS.ReadableStream>;
  head(key: string): Promise<ObjectInfo | null>;
  /** No error if missing. */
  delete(key: string): Promise<void>;
  /**
   * Every object whose key starts with prefix (a plain string prefix, as in S3, not only whole segments).
   * Order is not guaranteed: fs and AWS give byte order of keys, some S3 clones (s3rver) do not.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  close?(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  readonly code = 'object_not_found';
  constructor(readonly key = '') {
    super(key ? `object not found: ${key}` : 'object not found');
    this.name = 'ObjectNotFoundError';
  }
}

/** Thrown for keys that could escape the store's root (or are not plain relative paths). */
export class InvalidObjectKeyError extends Error {
  readonly code = 'invalid_object_key';
  constructor(readonly key: string, reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidObjectKeyError';
  }
}

/** Thrown when a range starts at or past the end of the object (S3 answers 416 there; fs matches). */
export class InvalidRangeError extends Error {
  readonly code = 'invalid_range';
  constructor(readonly key: string, range: ByteRange, size: number) {
    super(`range ${range.start}-${range.end ?? ''} is outside object ${key} (${size} bytes)`);
    this.name = 'InvalidRangeError';
  }
}

function checkChars(key: string, what: string): void {
  // The fs driver joins keys onto a directory, so anything that could climb out of it or name an absolute
  // path is refused for both drivers (keys must mean the same thing everywhere). `..` is refused anywhere
  // in the key, not only as a whole segment: simpler to reason about, and the app never needs it.
  if (key.includes('\0')) throw new InvalidObjectKeyError(key, `${what} contains NUL`);
  if (key.includes('\\')) throw new InvalidObjectKeyError(key, `${what} contains a backslash`);
  if (key.includes('..')) throw new InvalidObjectKeyError(key, `${what} contains ".."`);
  if (key.startsWith('/')) throw new InvalidObjectKeyError(key, `${what} starts with "/"`);
}

/** Validates an object key: non-empty `/`-separated relative path with no empty or `.` segments. */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidObjectKeyError(String(key), 'key is empty');
  checkChars(key, 'key');
  // Empty and "." segments would name the same file as another key on fs but a different object on S3.
  for (const seg of key.split('/')) {
    if (seg === '' || seg === '.') throw new InvalidObjectKeyError(key, 'key has an empty or "." segment');
  }
  if (Buffer.byteLength(key) > 1024) throw new InvalidObjectKeyError(key, 'key is longer than 1024 bytes (S3 limit)');
}

/** Validates a list prefix: may be empty or end with `/`, but must not escape the root. */
export function assertValidPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new InvalidObjectKeyError(String(prefix), 'prefix is not a string');
  checkChars(prefix, 'prefix');
}

export function assertValidRange(range: ByteRange | undefined): void {
  if (!range) return;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`range start must be an integer >= 0, got ${start}`);
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new RangeError(`range end must be an integer >= start (${start}), got ${end}`);
  }
}
