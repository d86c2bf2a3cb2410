/** What the API's handlers share, built once by createApp's caller. */
import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config';
import type { Logger } from '../core/logger';
import type { ObjectStore } from '../core/objectStore';
import type { Queues } from '../core/queues';

/** The response header naming the batch a finished upload created (tus answers with no body). */
export const BATCH_ID_HEADER = 'Migration-Batch-Id';

export interface ApiDeps {
  config: Config;
  ds: DataSource;
  redis: Redis;
  queues: Queues;
  store: ObjectStore;
  log: Logger;
}

/** Who is calling: the admin (ADMIN_TOKEN), an operator (read-only admin) or an uploader acting for one user. */
export interface Caller {
  role: 'admin' | 'operator' | 'uploader';
  userId: string | null;
  /** For the audit log: `admin`, or `token:<id>`. */
  actor: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      caller?: Caller;
      id?: string;
    }
  }
}
