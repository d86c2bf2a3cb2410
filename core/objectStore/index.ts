import { FsObjectStore } from './FsObjectStore';
import type { ObjectStore } from './ObjectStore';
import { S3ObjectStore } from './S3ObjectStore';

export * from './ObjectStore';
export { FsObjectStore } from './FsObjectStore';
export { S3ObjectStore, type S3ObjectStoreOptions } from './S3ObjectStore';

export interface ObjectStoreConfig {
  /** Root of the local store; used when `s3` is absent (docs/http-api.md §4: STORAGE_DIR is the default). */
  storageDir: string;
  s3?: {
    bucket: string;
    endpoint?: string;
    region: string;
    accessKeyId?: string;
    secretAccessKey?: string;
  };
}

/** S3 when `cfg.s3` is given, otherwise a directory store at `cfg.storageDir`. */
export function createObjectStore(cfg: ObjectStoreConfig): ObjectStore {
  if (cfg.s3) {
    // A custom endpoint means MinIO or similar, which want path-style URLs (bucket names are not hostnames there).
    return new S3ObjectStore({ ...cfg.s3, forcePathStyle: Boolean(cfg.s3.endpoint) });
  }
  return new FsObjectStore(cfg.storageDir);
}
