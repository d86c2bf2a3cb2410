import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  ByteRange,
  InvalidObjectKeyError,
  InvalidRangeError,
  ObjectInfo,
  ObjectNotFoundError,
  ObjectStore,
} from './ObjectStore';

/** Temp files live inside the root so that rename() never crosses a filesystem boundary. */
const TMP_DIR = '.tmp';

/**
 * The write buffer of a file written from a stream (fs' default is 16 KiB): with 16 KiB, each ~64 KiB
 * chunk from a socket filled it, and the source was paused until that chunk was on disk, so receiving and
 * writing took turns. With a few MiB the source goes on while a write runs, and the chunks that arrived
 * meanwhile go down together in the next one (writev).
 */
export const FILE_WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Sorting entries by name, with `/` appended to directories, makes a depth-first walk yield keys in byte order. */
function sortKey(name: string, isDir: boolean): Buffer {
  return Buffer.from(isDir ? `${name}/` : name);
}

export class FsObjectStore implements ObjectStore {
  readonly driver = 'fs' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Maps a validated key to its file; refuses the reserved temp directory and anything outside root. */
  private pathOf(key: string): string {
    assertValidKey(key);
    if (key === TMP_DIR || key.startsWith(`${TMP_DIR}/`)) {
      throw new InvalidObjectKeyError(key, `"${TMP_DIR}/" is reserved by the fs object store`);
    }
    const file = path.join(this.root, ...key.split('/'));
    // Belt and braces: assertValidKey already rules out every way to climb out.
    if (!file.startsWith(this.root + path.sep)) throw new InvalidObjectKeyError(key, 'resolves outside the store');
    return file;
  }

  async put(key: string, body: Buffer | NodeJS.ReadableStream, _opts?: { contentType?: string }): Promise<{ size: number }> {
    const file = this.pathOf(key);
    const tmpDir = path.join(this.root, TMP_DIR);
    await fsp.mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${randomBytes(12).toString('hex')}.part`);
    try {
      if (Buffer.isBuffer(body)) {
        await fsp.writeFile(tmp, body);
      } else {
        // pipeline destroys the source if writing fails, so a failed put never leaves a reader hanging.
        await pipeline(body, createWriteStream(tmp, { flags: 'wx', highWaterMark: FILE_WRITE_BUFFER_BYTES }));
      }
      const { size } = await fsp.stat(tmp);
      await this.renameIntoPlace(tmp, file);
      return { size };
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** A concurrent delete() may prune the parent directory between mkdir and rename: recreate and retry. */
  private async renameIntoPlace(tmp: string, file: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await fsp.mkdir(path.dirname(file), { recursive: true });
      try {
        await fsp.rename(tmp, file);
        return;
      } catch (err) {
        if (errCode(err) !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
  }

  async get(key: string, range?: ByteRange): Promise<NodeJS.ReadableStream> {
    const file = this.pathOf(key);
    assertValidRange(range);
    // Open first, then read from the handle: a rename or delete after this point cannot change what we stream.
    let handle: import('node:fs/promises').FileHandle;
    try {
      handle = await fsp.open(file, 'r');
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new ObjectNotFoundError(key);
      throw err;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new ObjectNotFoundError(key);
      if (range && range.start >= st.size) throw new InvalidRangeError(key, range, st.size);
      return handle.createReadStream({ start: range?.start, end: range?.end, autoClose: true }) as Readable;
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Removes the temp files of puts that were cut short (a process killed while writing, a put whose stream
   * never ended) and were last written before `before`; a put in progress writes its file as it goes.
   * Returns how many went.
   */
  async removeStaleTemp(before: Date): Promise<number> {
    const dir = path.join(this.root, TMP_DIR);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      const file = path.join(dir, name);
      const st = await fsp.stat(file).catch(() => null);
      if (!st?.isFile() || st.mtimeMs >= before.getTime()) continue;
      await fsp.rm(file, { force: true });
      removed++;
    }
    return removed;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const file = this.pathOf(key);
    try {
      const st = await fsp.stat(file);
      return st.isFile() ? { key, size: st.size, lastModified: new Date(st.mtimeMs) } : null;
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await fsp.unlink(file);
    } catch (err) {
      const code = errCode(err);
      // A key that names a directory is simply not an object.
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EPERM') return;
      throw err;
    }
    // Prune now-empty parent directories so list() does not wander through dead branches.
    let dir = path.dirname(file);
    while (dir !== this.root && dir.startsWith(this.root + path.sep)) {
      try {
        await fsp.rmdir(dir);
      } catch {
        break; // not empty (or already gone): stop climbing
      }
      dir = path.dirname(dir);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    // Only the directory named by the prefix's complete segments can hold matches; start the walk there.
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash >= 0 ? prefix.slice(0, slash + 1) : '';
    yield* this.walk(baseKey, prefix);
  }

  private async *walk(dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const dir = path.join(this.root, ...dirKey.split('/').filter(Boolean));
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    entries.sort((a, b) => Buffer.compare(sortKey(a.name, a.isDirectory()), sortKey(b.name, b.isDirectory())));
    for (const entry of entries) {
      const key = dirKey + entry.name;
      if (dirKey === '' && entry.name === TMP_DIR) continue;
      if (entry.isDirectory()) {
        // Descend only where keys below could still match the prefix.
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* this.walk(sub, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const st = await fsp.stat(path.join(dir, entry.name));
          yield { key, size: st.size, lastModified: new Date(st.mtimeMs) };
        } catch (err) {
          if (errCode(err) !== 'ENOENT') throw err; // deleted while listing: skip it
        }
      }
    }
  }

  async close(): Promise<void> {
    // Nothing to release: every operation opens and closes its own files.
  }
}
