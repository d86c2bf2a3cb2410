/**
 * One behavioural contract for every ObjectStore driver. Bodies are always compared by content (sha256),
 * never by length: a store that silently adds framing (see docs/stack-notes.md, S3 checksums) must fail here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ObjectInfo, ObjectNotFoundError, ObjectStore } from '../../core/objectStore';

const MiB = 1024 * 1024;

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

export async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of it) out.push(info);
  return out;
}

/** Keys sorted, because list() order is up to the driver (see ObjectStore.list). */
export function keysOf(infos: ObjectInfo[]): string[] {
  return infos.map((o) => o.key).sort();
}

/** Streams `data` in irregular chunk sizes so part boundaries never line up with chunk boundaries. */
export function chunkedStream(data: Buffer, opts: { failAfter?: number } = {}): Readable {
  let offset = 0;
  let n = 0;
  return new Readable({
    read() {
      if (opts.failAfter !== undefined && offset >= opts.failAfter) {
        this.destroy(new Error('source failed on purpose'));
        return;
      }
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      const size = 1000 + ((n++ * 7919) % 65_000);
      this.push(data.subarray(offset, offset + size));
      offset += size;
    },
  });
}

export function runObjectStoreContract(
  name: string,
  makeStore: () => Promise<{ store: ObjectStore; cleanup(): Promise<void> }>,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    // Every test writes under its own prefix so tests stay independent on a shared store.
    let ns = 0;
    const prefix = () => `contract-${process.pid}-${++ns}/`;

    beforeAll(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterAll(async () => {
      await store?.close?.();
      await cleanup?.();
    });

    test('put Buffer, then get returns the same bytes and head the size', async () => {
      const key = `${prefix()}dir/file with space+ü.json`;
      const data = randomBytes(100_000);
      await expect(store.put(key, data, { contentType: 'application/json' })).resolves.toEqual({ size: data.length });
      expect(sha256(await readAll(await store.get(key)))).toBe(sha256(data));
      const info = await store.head(key);
      expect(info).not.toBeNull();
      expect(info!.key).toBe(key);
      expect(info!.size).toBe(data.length);
      expect(info!.lastModified).toBeInstanceOf(Date);
      expect(Math.abs(info!.lastModified.getTime() - Date.now())).toBeLessThan(10 * 60_000);
    });

    test('put empty Buffer and empty stream', async () => {
      const p = prefix();
      await expect(store.put(`${p}empty-buf`, Buffer.alloc(0))).resolves.toEqual({ size: 0 });
      await expect(store.put(`${p}empty-stream`, Readable.from([]))).resolves.toEqual({ size: 0 });
      expect((await readAll(await store.get(`${p}empty-buf`))).length).toBe(0);
      expect((await readAll(await store.get(`${p}empty-stream`))).length).toBe(0);
      expect((await store.head(`${p}empty-stream`))?.size).toBe(0);
    });

    test('put a small stream (strings and buffers mixed)', async () => {
      const key = `${prefix()}small.ndjson`;
      const lines = ['{"a":1}\n', Buffer.from('{"b":"é"}\n'), '{"end":true}\n'];
      const expected = Buffer.concat(lines.map((l) => (typeof l === 'string' ? Buffer.from(l) : l)));
      await expect(store.put(key, Readable.from(lines))).resolves.toEqual({ size: expected.length });
      expect((await readAll(await store.get(key))).equals(expected)).toBe(true);
    });

    test('put a 12 MiB generated stream (multipart on S3); bytes and ranges across part boundaries match', async () => {
      const key = `${prefix()}big.bin`;
      const data = randomBytes(12 * MiB + 12_345);
      await expect(store.put(key, chunkedStream(data))).resolves.toEqual({ size: data.length });
      expect(sha256(await readAll(await store.get(key)))).toBe(sha256(data));
      expect((await store.head(key))?.size).toBe(data.length);
      for (const boundary of [5 * MiB, 8 * MiB, 10 * MiB]) {
        const range = { start: boundary - 1000, end: boundary + 999 };
        const got = await readAll(await store.get(key, range));
        expect(got.equals(data.subarray(range.start, range.end + 1))).toBe(true);
      }
    }, 120_000);

    test('range get: inclusive ends, open end, end clamped, start past the end refused', async () => {
      const key = `${prefix()}range.txt`;
      const data = Buffer.from('0123456789abcdef');
      await store.put(key, data);
      expect((await readAll(await store.get(key, { start: 2, end: 5 }))).toString()).toBe('2345');
      expect((await readAll(await store.get(key, { start: 10 }))).toString()).toBe('abcdef');
      // (Not `{start: 0, end: 0}`: s3rver 3.7 reads `bytes=0-0` as the whole object; AWS and MinIO do not.)
      expect((await readAll(await store.get(key, { start: 1, end: 1 }))).toString()).toBe('1');
      expect((await readAll(await store.get(key, { start: 14, end: 1000 }))).toString()).toBe('ef');
      await expect(store.get(key, { start: 16 })).rejects.toMatchObject({ code: 'invalid_range' });
      await expect(store.get(key, { start: 5, end: 2 })).rejects.toThrow(RangeError);
      await expect(store.get(key, { start: -1 })).rejects.toThrow(RangeError);
    });

    test('list by prefix returns exactly the matching keys, with sizes', async () => {
      const p = prefix();
      const keys = [`${p}a/1`, `${p}a/2.json`, `${p}a-b`, `${p}ab`, `${p}b/c/d`, `${p}b/c/e`];
      for (const [i, k] of keys.entries()) await store.put(k, Buffer.alloc(i + 1, 'x'));
      await store.put(`other-${p}a/1`, Buffer.from('not me'));

      const all = await collect(store.list(p));
      expect(keysOf(all)).toEqual([...keys].sort());
      for (const o of all) {
        expect(o.size).toBe(keys.indexOf(o.key) + 1);
        expect(o.lastModified).toBeInstanceOf(Date);
      }
      expect(keysOf(await collect(store.list(`${p}a/`)))).toEqual([`${p}a/1`, `${p}a/2.json`]);
      expect(keysOf(await collect(store.list(`${p}a`)))).toEqual([`${p}a-b`, `${p}a/1`, `${p}a/2.json`, `${p}ab`].sort());
      expect(keysOf(await collect(store.list(`${p}b/c/`)))).toEqual([`${p}b/c/d`, `${p}b/c/e`]);
      expect(await collect(store.list(`${p}nothing/`))).toEqual([]);
      expect((await collect(store.list(''))).map((o) => o.key)).toEqual(expect.arrayContaining([...keys, `other-${p}a/1`]));
    });

    test('delete removes the object; deleting a missing key is not an error', async () => {
      const p = prefix();
      await store.put(`${p}x/y`, Buffer.from('bye'));
      await store.put(`${p}x/z`, Buffer.from('stay'));
      await store.delete(`${p}x/y`);
      expect(await store.head(`${p}x/y`)).toBeNull();
      await expect(store.get(`${p}x/y`)).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect((await collect(store.list(p))).map((o) => o.key)).toEqual([`${p}x/z`]);
      await expect(store.delete(`${p}x/y`)).resolves.toBeUndefined();
      await expect(store.delete(`${p}never/was`)).resolves.toBeUndefined();
      await store.delete(`${p}x/z`);
      expect(await collect(store.list(p))).toEqual([]);
      // The (possibly pruned) path is usable again.
      await store.put(`${p}x/y`, Buffer.from('back'));
      expect((await readAll(await store.get(`${p}x/y`))).toString()).toBe('back');
    });

    test('overwrite replaces content and size (larger, then smaller, then streamed)', async () => {
      const key = `${prefix()}over.bin`;
      const first = randomBytes(70_000);
      const second = Buffer.from('short');
      const third = randomBytes(300_000);
      await store.put(key, first);
      await store.put(key, second);
      expect((await readAll(await store.get(key))).equals(second)).toBe(true);
      expect((await store.head(key))?.size).toBe(second.length);
      await store.put(key, chunkedStream(third));
      expect(sha256(await readAll(await store.get(key)))).toBe(sha256(third));
      expect((await collect(store.list(key))).length).toBe(1);
    });

    test('missing key: get throws ObjectNotFoundError, head returns null', async () => {
      const key = `${prefix()}missing/thing`;
      const err = await store.get(key).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ObjectNotFoundError);
      expect(err).toMatchObject({ code: 'object_not_found' });
      await expect(store.get(key, { start: 0, end: 1 })).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await store.head(key)).toBeNull();
      // A "directory" (a prefix of other keys) is not an object either.
      const p = prefix();
      await store.put(`${p}dir/file`, Buffer.from('x'));
      expect(await store.head(`${p}dir`)).toBeNull();
      await expect(store.get(`${p}dir`)).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    test('a failing source stream rejects put and leaves no object behind', async () => {
      const p = prefix();
      const key = `${p}broken.bin`;
      // 6 MiB before failing: past the first multipart part on S3 with a 5 MiB part size.
      await expect(store.put(key, chunkedStream(randomBytes(9 * MiB), { failAfter: 6 * MiB }))).rejects.toThrow(
        'source failed on purpose',
      );
      expect(await store.head(key)).toBeNull();
      expect(await collect(store.list(p))).toEqual([]);
      // An existing object survives a failed overwrite untouched.
      await store.put(key, Buffer.from('good'));
      await expect(store.put(key, chunkedStream(randomBytes(MiB), { failAfter: 100_000 }))).rejects.toThrow();
      expect((await readAll(await store.get(key))).toString()).toBe('good');
    }, 60_000);

    test.each([
      '../escape',
      'a/../../escape',
      'a/..',
      '..',
      '/etc/passwd',
      'a\\b',
      '..\\windows',
      'a\0b',
      '',
      'a//b',
      './a',
    ])('key %j is refused by every operation', async (bad) => {
      await expect(store.put(bad, Buffer.from('x'))).rejects.toThrow(Error);
      await expect(store.put(bad, Readable.from([Buffer.from('x')]))).rejects.toThrow(Error);
      await expect(store.get(bad)).rejects.toThrow(Error);
      await expect(store.get(bad)).rejects.not.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.head(bad)).rejects.toThrow(Error);
      await expect(store.delete(bad)).rejects.toThrow(Error);
    });

    test.each(['../', '/', 'a/../..', 'a\\', 'a\0'])('list prefix %j is refused', async (bad) => {
      await expect(collect(store.list(bad))).rejects.toThrow(Error);
    });
  });
}
