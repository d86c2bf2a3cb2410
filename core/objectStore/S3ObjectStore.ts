import {
  AbortMultipartUploadCommand,
  CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  ByteRange,
  InvalidRangeError,
  ObjectInfo,
  ObjectNotFoundError,
  ObjectStore,
} from './ObjectStore';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** For S3-compatible servers (MinIO, s3rver); omit for AWS. */
  endpoint?: string;
  region: string;
  /** Both or neither; without them the SDK's default credential chain applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Defaults to true when an endpoint is given (MinIO/s3rver hosts rarely resolve bucket subdomains). */
  forcePathStyle?: boolean;
  /** Multipart part size for streamed puts; S3 requires >= 5 MiB for every part but the last. */
  partSize?: number;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** S3 allows at most 10,000 parts; beyond that a put must fail rather than be silently truncated. */
const MAX_PARTS = 10_000;

interface S3ErrorLike {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function statusOf(err: unknown): number | undefined {
  return (err as S3ErrorLike | null)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const e = err as S3ErrorLike | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || statusOf(err) === 404;
}

export class S3ObjectStore implements ObjectStore {
  readonly driver = 's3' as const;
  readonly bucket: string;
  readonly client: S3Client;
  private readonly partSize: number;

  constructor(opts: S3ObjectStoreOptions) {
    this.bucket = opts.bucket;
    this.partSize = Math.max(MIN_PART_SIZE, opts.partSize ?? DEFAULT_PART_SIZE);
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle ?? Boolean(opts.endpoint),
      credentials:
        opts.accessKeyId && opts.secretAccessKey
          ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }
          : undefined,
      // With the SDK's default checksum mode, S3-compatible servers (s3rver, older MinIO) store the
      // aws-chunked framing of streamed bodies as data, silently. See docs/stack-notes.md "S3 in tests".
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Buffer | NodeJS.ReadableStream, opts?: { contentType?: string }): Promise<{ size: number }> {
    assertValidKey(key);
    const contentType = opts?.contentType;
    if (Buffer.isBuffer(body)) {
      await this.putBuffer(key, body, contentType);
      return { size: body.length };
    }
    return this.putStream(key, body, contentType);
  }

  private async putBuffer(key: string, body: Buffer, contentType?: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ContentType: contentType }),
    );
  }

  /**
   * Buffers one part at a time: a stream shorter than one part becomes a single PutObject, a longer one a
   * multipart upload that is aborted on any failure, so a partial object never becomes visible.
   */
  private async putStream(key: string, body: NodeJS.ReadableStream, contentType?: string): Promise<{ size: number }> {
    const source = body instanceof Readable ? body : Readable.from(body as AsyncIterable<Buffer | string>);
    let chunks: Buffer[] = [];
    let buffered = 0;
    let size = 0;
    let uploadId: string | undefined;
    const parts: CompletedPart[] = [];

    const flushPart = async (): Promise<void> => {
      const data = Buffer.concat(chunks, buffered);
      chunks = [];
      buffered = 0;
      if (!uploadId) {
        const created = await this.client.send(
          new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }),
        );
        if (!created.UploadId) throw new Error(`S3 returned no UploadId for ${key}`);
        uploadId = created.UploadId;
      }
      const PartNumber = parts.length + 1;
      if (PartNumber > MAX_PARTS) throw new Error(`object ${key} needs more than ${MAX_PARTS} parts; raise partSize`);
      const res = await this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber, Body: data, ContentLength: data.length,
        }),
      );
      parts.push({ ETag: res.ETag, PartNumber });
    };

    try {
      // Throwing out of for-await destroys the source stream, so a failed upload stops reading it.
      for await (const chunk of source) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        chunks.push(buf);
        buffered += buf.length;
        size += buf.length;
        if (buffered >= this.partSize) await flushPart();
      }
      if (!uploadId) {
        await this.putBuffer(key, Buffer.concat(chunks, buffered), contentType);
        return { size };
      }
      if (buffered > 0) await flushPart(); // the last part may be smaller than 5 MiB
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts },
        }),
      );
      return { size };
    } catch (err) {
      if (uploadId) {
        // Best effort: an orphaned upload costs storage but is never visible as an object.
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
          .catch(() => undefined);
      }
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<NodeJS.ReadableStream> {
    assertValidKey(key);
    assertValidRange(range);
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined,
        }),
      );
      if (!res.Body) throw new Error(`S3 returned no body for ${key}`);
      // In Node the SDK's body is an http.IncomingMessage (a Readable) with helper mixins.
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      if (range && statusOf(err) === 416) {
        const info = await this.head(key);
        if (!info) throw new ObjectNotFoundError(key);
        throw new InvalidRangeError(key, range, info.size);
      }
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: res.ContentLength ?? 0, lastModified: res.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (!isNotFound(err)) throw err; // S3 itself answers 204 for missing keys; some clones say 404
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix || undefined, ContinuationToken: token }),
      );
      for (const obj of res.Contents ?? []) {
        if (!obj.Key) continue;
        yield { key: obj.Key, size: obj.Size ?? 0, lastModified: obj.LastModified ?? new Date(0) };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
