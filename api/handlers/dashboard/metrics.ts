/**
 * GET /metrics — Prometheus text format. Open by default, like most scrape targets on an internal network;
 * set METRICS_TOKEN to require "Authorization: Bearer <token>" (Prometheus: `authorization` in the scrape
 * config) when the API port is reachable from outside. Labels carry no user data (route templates, queue,
 * phase, table, status), so an open endpoint leaks load figures, never content.
 */
import type { Request, Response } from 'express';
import { BATCH_STATUSES } from '../../../entities';
import { metricsExposition } from '../../../core/childMetrics';
import { collectSharedGauges, metricsAuthorized, registry } from '../../../core/metrics';
import type { ApiDeps } from '../../context';

export function metricsHandler(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    if (!metricsAuthorized(req.headers.authorization, deps.config.METRICS_TOKEN)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: { code: 'unauthorized', message: 'Send "Authorization: Bearer <METRICS_TOKEN>".' } });
      return;
    }
    await collectSharedGauges({
      ds: deps.ds, queues: [deps.queues.migration, deps.queues.maintenance], statuses: BATCH_STATUSES,
      cleanup: { redis: deps.redis, prefix: deps.config.QUEUE_PREFIX, intervalMinutes: deps.config.CLEANUP_INTERVAL_MINUTES },
    });
    res.set('Content-Type', registry.contentType).send(await metricsExposition());
  };
}

/**
 * The route template a request matched, for the latency histogram's `route` label: raw paths would make
 * one series per batch id. Bull Board and the static assets collapse to one label each.
 */
export function routeLabel(req: Request): string {
  const url = req.originalUrl ?? '';
  if (url.startsWith('/admin/queues')) return '/admin/queues/*';
  if (url.startsWith('/admin/assets/')) return '/admin/assets/*';
  if (url.startsWith('/v1/uploads')) return '/v1/uploads/*'; // tus answers from a middleware, not a route
  const path = req.route?.path;
  return typeof path === 'string' ? `${req.baseUrl ?? ''}${path}` : 'unmatched';
}
