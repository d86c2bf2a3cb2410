import { promises as fsp } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { S3ObjectStore } from '../../core/objectStore';
import { runObjectStoreContract } from '../contracts/objectStore.contract';

// s3rver ships no type declarations; this is the part of its API the test uses.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver: S3rverCtor = require('s3rver');

const BUCKET = 'contract-bucket';

runObjectStoreContract('s3 (s3rver)', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'objstore-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0, // let the OS pick a free port
    silent: true,
    directory: dir,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  const store = new S3ObjectStore({
    bucket: BUCKET,
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: 'S3RVER', // s3rver's built-in account
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    partSize: 5 * 1024 * 1024, // smallest legal part: the 12 MiB test then uploads 3 parts
  });
  return {
    store,
    cleanup: async () => {
      await server.close();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
});
