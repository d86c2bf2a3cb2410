/**
 * The route table (docs/style.md §2.1): every endpoint, who may call it and its handler, in one place.
 */
import express, { Router } from 'express';
import type { ApiDeps } from './context';
import { listTokens, mintToken, revokeToken } from './handlers/admin/tokens';
import { listBatches } from './handlers/admin/listBatches';
import { listAudit } from './handlers/admin/listAudit';
import { retryBatchHandler, rollbackBatchHandler, verifyBatchHandler } from './handlers/admin/batchActions';
import { getAsset } from './handlers/getAsset';
import { getBatch } from './handlers/getBatch';
import { getBatchReport } from './handlers/getBatchReport';
import { getClientFile, getUploaderPage, uploaderCors } from './handlers/client';
import { docsAsset, docsPage, getOpenApi } from './handlers/docs';
import { healthz, readyz } from './handlers/health';
import { postDump } from './handlers/postDump';
import { batchEvents, batchListEvents } from './handlers/dashboard/events';
import { getSession, loginLimitedPage, loginPage, postLogin, postLogout } from './handlers/dashboard/login';
import { metricsHandler } from './handlers/dashboard/metrics';
import { batchPage, dashboardAssets, overviewPage, tokensPage } from './handlers/dashboard/pages';
import { listRejects } from './handlers/dashboard/rejects';
import { CUTOVER_ROUTES } from './cutover/routes';
import { postDelta } from './cutover/postDelta';
import { DATA_ROUTES, mountRoutes } from './data';
import { authenticate } from './middleware/auth';
import { loginRateLimit } from './middleware/rateLimit';
import { batchProvider } from './providers/batchProvider';
import { DIRECT_PATH, directCors, directUploads } from './uploads/direct';
import type { CheckThreads } from './uploads/checkThread';
import { warmCheckThread } from './checkedBody';

/** `checkThreads`: where large POSTed dumps are checked (api/checkedBody.ts). */
export function createRoutes(deps: ApiDeps, checkThreads: CheckThreads): Router {
  const r = Router();
  const uploader = authenticate(deps, ['uploader', 'admin', 'operator']);
  const uploaderOnly = authenticate(deps, ['uploader']); // dumps belong to a user; operators are read-only
  const admin = authenticate(deps, ['admin']);
  const adminRead = authenticate(deps, ['admin', 'operator']);
  // Dumps and deltas read their own bodies, as they arrive (api/checkedBody.ts): no body parser.
  const dumpBody = warmCheckThread(deps, checkThreads);
  const jsonBody = express.json({ limit: '100kb' });

  r.get('/healthz', healthz);
  r.get('/readyz', readyz(deps));

  r.post('/v1/dumps', uploaderOnly, dumpBody, postDump(deps, checkThreads));
  // Direct-to-S3 multipart uploads (S3 driver only; GET tells whether they are offered).
  const direct = directUploads(deps);
  r.use(DIRECT_PATH, directCors());
  r.get(DIRECT_PATH, uploaderOnly, direct.capabilities);
  r.post(DIRECT_PATH, uploaderOnly, jsonBody, direct.start);
  r.get(`${DIRECT_PATH}/:id/parts`, uploaderOnly, direct.listParts);
  r.post(`${DIRECT_PATH}/:id/parts/:n`, uploaderOnly, jsonBody, direct.presignPart);
  r.post(`${DIRECT_PATH}/:id/complete`, uploaderOnly, jsonBody, direct.complete);
  r.delete(`${DIRECT_PATH}/:id`, uploaderOnly, direct.abort);
  r.use('/v1/batches', uploaderCors()); // the uploader follows its batch from the app's origin
  r.get('/v1/batches/:id', uploader, batchProvider(deps), getBatch(deps));
  r.get('/v1/batches/:id/report', uploader, batchProvider(deps), getBatchReport(deps));
  // Cutover (docs/cutover.md): deltas, the state and the watermark.
  r.post('/v1/batches/:id/delta', uploaderOnly, batchProvider(deps), dumpBody, postDelta(deps, checkThreads));
  r.use(mountRoutes(deps, CUTOVER_ROUTES));
  r.get('/v1/assets/:asset', getAsset(deps));
  // The migrated data, for the app after its migration (api/data/).
  r.use(mountRoutes(deps, DATA_ROUTES));

  // The API reference (public): the OpenAPI document of every /v1 route and a page that draws it.
  r.get('/v1/openapi.json', getOpenApi(deps));
  r.get('/docs', docsPage);
  r.get('/docs/assets/:file', docsAsset);

  // The browser uploader (public: it holds no data; the page asks for a token before sending anything).
  r.get('/client/:file', getClientFile());
  r.get('/uploader', getUploaderPage());

  r.get('/v1/admin/batches', adminRead, listBatches(deps));
  r.post('/v1/admin/tokens', admin, jsonBody, mintToken(deps));
  r.get('/v1/admin/tokens', adminRead, listTokens(deps));
  r.delete('/v1/admin/tokens/:id', admin, revokeToken(deps));
  r.post('/v1/admin/batches/:id/retry', admin, jsonBody, batchProvider(deps), retryBatchHandler(deps));
  r.post('/v1/admin/batches/:id/rollback', admin, jsonBody, batchProvider(deps), rollbackBatchHandler(deps));
  r.post('/v1/admin/batches/:id/verify', admin, batchProvider(deps), verifyBatchHandler(deps));
  r.get('/v1/admin/audit', adminRead, listAudit(deps));

  // The migrations dashboard (issue 7). Pages send a browser without a session to the login form; the
  // session cookie is accepted by these, the admin API above and Bull Board (app.ts).
  const page = authenticate(deps, ['admin', 'operator'], { loginRedirect: true });
  r.get('/metrics', metricsHandler(deps));
  r.use('/admin/assets', dashboardAssets);
  r.get('/admin/login', loginPage());
  r.post('/admin/login', loginRateLimit(deps, loginLimitedPage), express.urlencoded({ extended: false, limit: '10kb' }), postLogin(deps));
  r.post('/admin/logout', postLogout(deps));
  r.get('/admin/session', adminRead, getSession(deps));
  r.get('/admin', page, overviewPage);
  r.get('/admin/batches/:id', page, batchPage);
  r.get('/admin/tokens', page, tokensPage);
  r.get('/v1/admin/events/batches', adminRead, batchListEvents(deps));
  r.get('/v1/admin/events/batches/:id', adminRead, batchProvider(deps), batchEvents(deps));
  r.get('/v1/admin/batches/:id/rejects', adminRead, batchProvider(deps), listRejects(deps));
  return r;
}
