/**
 * The data API: the migrated data, served back to the app (and written by it) under /v1. Every route is
 * described once (route.ts); the router and the OpenAPI document are both built from this list.
 */
import { aiDataRoutes } from './resources/aiData';
import { contentItemRoutes } from './resources/contentItems';
import { contentTypeRoutes } from './resources/contentTypes';
import { deploymentRoutes } from './resources/deployments';
import { entryRoutes } from './resources/entries';
import { preferenceRoutes } from './resources/preferences';
import { websiteStorageRoutes } from './resources/websiteStorage';
import { websiteRoutes } from './resources/websites';
import type { RouteSpec } from './route';

export const DATA_ROUTES: RouteSpec[] = [
  ...websiteRoutes, ...contentTypeRoutes, ...contentItemRoutes,
  ...websiteStorageRoutes, ...preferenceRoutes, ...deploymentRoutes, ...aiDataRoutes, ...entryRoutes,
];

export { mountRoutes } from './mount';
export { buildOpenApi } from './openapi';
