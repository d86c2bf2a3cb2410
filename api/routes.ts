/**
 * The route table (STYLE §2.1): every endpoint, who may call it and its handler, in one place.
 */
import express, { Router } from 'express';
import type { ApiDeps } from './context';
import { mintToken } from './handlers/admin/mintToken';
import { listBatches } from './handlers/admin/listBatches';
import { listAudit } from './handlers/admin/listAudit';
import { retryBatchHandler, rollbackBatchHandler, verifyBatchHandler } from './handlers/admin/batchActions';
import { getAsset } from './handlers/getAsset';
import { getBatch } from './handlers/getBatch';
import { getBatchReport } from './handlers/getBatchReport';
import { healthz, readyz } from './handlers/health';
import { postDump } from './handlers/postDump';
import { authenticate } from './middleware/auth';
import { batchProvider } from './providers/batchProvider';

export function createRoutes(deps: ApiDeps): Router {
  const r = Router();
  const uploader = authenticate(deps, ['uploader', 'admin', 'operator']);
  const admin = authenticate(deps, ['admin']);
  const adminRead = authenticate(deps, ['admin', 'operator']);
  const dumpBody = express.raw({ type: () => true, limit: deps.config.DUMP_BODY_LIMIT });
  const jsonBody = express.json({ limit: '100kb' });

  r.get('/healthz', healthz);
  r.get('/readyz', readyz(deps));

  r.post('/v1/dumps', uploader, dumpBody, postDump(deps));
  r.get('/v1/batches/:id', uploader, batchProvider(deps), getBatch(deps));
  r.get('/v1/batches/:id/report', uploader, batchProvider(deps), getBatchReport(deps));
  r.get('/v1/assets/:sha256', getAsset(deps));

  r.get('/v1/admin/batches', adminRead, listBatches(deps));
  r.post('/v1/admin/tokens', admin, jsonBody, mintToken(deps));
  r.post('/v1/admin/batches/:id/retry', admin, batchProvider(deps), retryBatchHandler(deps));
  r.post('/v1/admin/batches/:id/rollback', admin, jsonBody, batchProvider(deps), rollbackBatchHandler(deps));
  r.post('/v1/admin/batches/:id/verify', admin, batchProvider(deps), verifyBatchHandler(deps));
  r.get('/v1/admin/audit', adminRead, listAudit(deps));
  return r;
}
