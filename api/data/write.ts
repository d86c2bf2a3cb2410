/**
 * Every data-API write runs in `withApiWrite`: one transaction that
 *  - marks itself as an API write (`bsm.api_write`, with the actor and request id), so the `api_write`
 *    trigger records every row it inserts, changes or deletes — cascades included — in `api_writes`;
 *  - takes the user's row lock (jobs/write/userLock.ts) first, as every batch page and rollback does, so an
 *    API write never interleaves with a migration's journal statement or a rollback of the same user.
 * A rollback then sees these writes and refuses to discard them unless forced (jobs/apiChanges.ts).
 */
import type { EntityManager } from 'typeorm';
import { lockUserRows } from '../../jobs/write/userLock';
import type { DataRequest } from './route';

export async function withApiWrite<T>(req: DataRequest<unknown, unknown, unknown>, fn: (m: EntityManager) => Promise<T>): Promise<T> {
  const { deps, caller } = req;
  return deps.ds.transaction(async (m) => {
    await m.query(`SET LOCAL lock_timeout = ${Number(deps.config.PHASE_LOCK_TIMEOUT_MS)}`);
    await m.query(
      `SELECT set_config('bsm.api_write', 'on', true), set_config('bsm.actor', $1, true), set_config('bsm.request_id', $2, true)`,
      [caller.actor, req.requestId],
    );
    await lockUserRows(m, caller.userId);
    return fn(m);
  });
}
