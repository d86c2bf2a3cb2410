/**
 * Live updates for the dashboard as Server-Sent Events:
 *   GET /v1/admin/events/batches?<the list filters>  → `event: batches`, the same JSON as GET /v1/admin/batches
 *   GET /v1/admin/events/batches/:id                 → `event: batch`, GET /v1/batches/:id plus Bull Board links
 * Asked with `Accept: application/json` (no EventSource: the pages' polling fallback), they answer once.
 * Each stream re-reads Postgres every DASHBOARD_EVENTS_INTERVAL_MS and sends only when the JSON changed, so
 * workers need no pub/sub and every API instance can serve any viewer. A comment line every 15 s keeps
 * proxies from closing an idle stream. When the server stops listening (shutdown) the streams end, so
 * `server.close()` is never held open by a dashboard tab; EventSource reconnects to another instance.
 */
import type { Socket } from 'node:net';
import type { Request, Response } from 'express';
import { Errors } from '../../../core/errors';
import { MigrationBatch } from '../../../entities';
import { BULL_BOARD_PATH } from '../../../dashboard/bullBoard';
import { QUEUES, phaseJobId } from '../../../jobs/names';
import type { ApiDeps } from '../../context';
import { ListQuery, queryBatches } from '../admin/listBatches';
import { batchView } from '../getBatch';

const KEEPALIVE_MS = 15000;

type Producer = () => Promise<unknown>;

function stream(deps: ApiDeps, req: Request, res: Response, event: string, produce: Producer): void | Promise<void> {
  if (req.accepts(['text/event-stream', 'json']) === 'json') return produce().then((data) => void res.json(data));
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no', // nginx: do not buffer the stream
    Connection: 'close', // the socket ends with the stream, so a closing server is not kept waiting
  });
  res.write(`retry: 2000\n\n`);
  let last = '';
  let lastWrite = Date.now();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const server = (req.socket as Socket & { server?: { listening: boolean } }).server;
  const stop = () => {
    closed = true;
    if (timer) clearTimeout(timer);
  };
  req.on('close', stop);
  const tick = async () => {
    if (closed) return;
    if (server && !server.listening) {
      stop();
      res.end();
      return;
    }
    try {
      const json = JSON.stringify(await produce());
      if (json !== last) {
        res.write(`event: ${event}\ndata: ${json}\n\n`);
        last = json;
        lastWrite = Date.now();
      } else if (Date.now() - lastWrite > KEEPALIVE_MS) {
        res.write(`: keepalive\n\n`);
        lastWrite = Date.now();
      }
    } catch (err) {
      // A failed read (database restarting) is reported to the page and retried on the next tick.
      deps.log.warn({ reqId: req.id, err: (err as Error).message }, 'dashboard stream read failed');
      if (!closed) res.write(`event: problem\ndata: ${JSON.stringify({ message: 'The server could not read the latest state; retrying.' })}\n\n`);
    }
    if (!closed) timer = setTimeout(() => void tick(), deps.config.DASHBOARD_EVENTS_INTERVAL_MS);
  };
  void tick();
}

export function batchListEvents(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const p = ListQuery.safeParse(req.query);
    if (!p.success) throw Errors.badRequest('invalid_query', 'Check status, userId, since, until, q and limit.', p.error.issues);
    await stream(deps, req, res, 'batches', () => queryBatches(deps.ds, p.data));
  };
}

export function batchEvents(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const id = (res.locals.batch as MigrationBatch).id;
    const repo = deps.ds.getRepository(MigrationBatch);
    await stream(deps, req, res, 'batch', async () => {
      const batch = await repo.findOneBy({ id });
      if (!batch) return { id, gone: true };
      const view = await batchView(deps.ds, batch);
      return { ...view, jobs: jobLinks(batch, (view.phases as { name: string }[]).map((p) => p.name)) };
    });
  };
}

/**
 * Bull Board's page of each phase job (its UI route /queue/:name/:jobId). Ids follow jobs/names.ts: a
 * batch applied again after a rollback runs as a new run with its own job ids. `phases`: the batch's own
 * (migration_phases, from its layout).
 */
export function jobLinks(batch: Pick<MigrationBatch, 'id' | 'notes'>, phases: readonly string[]): Record<string, string> {
  const run = Number((batch.notes as { run?: number } | null)?.run ?? 1);
  return Object.fromEntries(phases.map((p) => [p, `${BULL_BOARD_PATH}/queue/${QUEUES.migration}/${encodeURIComponent(phaseJobId(batch.id, p, run))}`]));
}
