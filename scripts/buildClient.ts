/** `npm run build:client`: the browser bundle into dist/client/ (scripts/clientBundle.ts says who runs it). */
import { buildClient, CLIENT_OUT } from './clientBundle';

const t0 = performance.now();
buildClient().then(
  () => process.stdout.write(`build:client: ${CLIENT_OUT} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`),
  (err: Error) => {
    process.stderr.write(`build:client failed: ${err.message}\n`);
    process.exit(1);
  },
);
