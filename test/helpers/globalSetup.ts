/**
 * Jest's globalSetup: the browser bundle every API process serves (dist/client/) is built once from the
 * sources before any suite runs, as `npm start` builds it before it starts (scripts/clientBundle.ts).
 */
import { buildClient } from '../../scripts/clientBundle';

export default async function globalSetup(): Promise<void> {
  await buildClient();
}
