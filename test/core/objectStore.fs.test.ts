import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createObjectStore, FsObjectStore, S3ObjectStore } from '../../core/objectStore';
import { chunkedStream, collect, runObjectStoreContract } from '../contracts/objectStore.contract';

async function tempRoot(): Promise<{ base: string; root: string; cleanup(): Promise<void> }> {
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), 'objstore-fs-'));
  // A root that does not exist yet: the store must create it on demand.
  const root = path.join(base, 'nested', 'root');
  return { base, root, cleanup: () => fsp.rm(base, { recursive: true, force: true }) };
}

runObjectStoreContract('fs', async () => {
  const { root, cleanup } = await tempRoot();
  return { store: new FsObjectStore(root), cleanup };
});

describe('FsObjectStore specifics', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ root, cleanup } = await tempRoot()));
  afterEach(() => cleanup());

  test('files land under the root; temp files are cleaned up and never listed', async () => {
    const store = new FsObjectStore(root);
    await store.put('a/b.txt', Readable.from(['hello']));
    expect(await fsp.readFile(path.join(root, 'a', 'b.txt'), 'utf8')).toBe('hello');
    await expect(store.put('a/c.bin', chunkedStream(Buffer.alloc(500_000), { failAfter: 100_000 }))).rejects.toThrow();
    expect(await fsp.readdir(path.join(root, '.tmp'))).toEqual([]);
    expect((await collect(store.list(''))).map((o) => o.key)).toEqual(['a/b.txt']);
  });

  test('list yields keys in byte order (what AWS does), across directory boundaries', async () => {
    const store = new FsObjectStore(root);
    const keys = ['a/1', 'a-b', 'a0', 'ab/c', 'a/b/c', 'Z', 'é', 'a.'];
    for (const k of keys) await store.put(k, Buffer.from(k));
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect((await collect(store.list(''))).map((o) => o.key)).toEqual(byBytes);
  });

  test('the temp directory is not addressable as a key', async () => {
    const store = new FsObjectStore(root);
    await expect(store.put('.tmp/x', Buffer.from('x'))).rejects.toThrow(/reserved/);
    await expect(store.head('.tmp')).rejects.toThrow(/reserved/);
  });

  test('delete prunes empty parent directories but never the root', async () => {
    const store = new FsObjectStore(root);
    await store.put('x/y/z', Buffer.from('1'));
    await store.delete('x/y/z');
    expect((await fsp.readdir(root)).sort()).toEqual(['.tmp']);
  });

  test('traversal never reads or deletes files outside the root', async () => {
    const store = new FsObjectStore(root);
    await store.put('inside', Buffer.from('x'));
    const outside = path.join(path.dirname(root), 'outside.txt');
    await fsp.writeFile(outside, 'secret');
    await expect(store.get('../outside.txt')).rejects.toThrow(/invalid object key/);
    await expect(store.delete('../outside.txt')).rejects.toThrow(/invalid object key/);
    expect(await fsp.readFile(outside, 'utf8')).toBe('secret');
  });
});

describe('createObjectStore', () => {
  test('fs by default, s3 when configured', async () => {
    const fsStore = createObjectStore({ storageDir: path.join(os.tmpdir(), 'unused-objstore') });
    expect(fsStore).toBeInstanceOf(FsObjectStore);
    expect(fsStore.driver).toBe('fs');
    const s3 = createObjectStore({
      storageDir: 'ignored',
      s3: { bucket: 'b', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', accessKeyId: 'k', secretAccessKey: 's' },
    });
    expect(s3).toBeInstanceOf(S3ObjectStore);
    expect(s3.driver).toBe('s3');
    expect(await (s3 as S3ObjectStore).client.config.forcePathStyle).toBe(true);
    await s3.close?.();
  });
});
