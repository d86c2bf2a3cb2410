/**
 * For the `unit` jest project: a unit test must not reach Postgres, Redis, S3 or anything else over the
 * network, or it is not a unit test (and `npm run test:unit` would need services after all). Every socket
 * connect in the test file's process throws, and any attempt also fails the file at the end, in case the
 * code under test swallowed the error (ioredis, say, retries quietly). Restored afterwards: the same jest
 * worker may run another project's files next.
 */
import { Socket } from 'node:net';

const connect = Socket.prototype.connect;
const attempts: string[] = [];

/** host:port (or the socket path) out of connect()'s forms: (options), (port, host), or net's own normalized [options, cb]. */
function describeTarget(args: unknown[]): string {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'object' && first !== null) {
    const o = first as { host?: string; port?: number; path?: string };
    return o.path ?? `${o.host ?? 'localhost'}:${o.port}`;
  }
  if (typeof first === 'string' && typeof args[1] !== 'string') return first; // a socket path
  return `${typeof args[1] === 'string' ? args[1] : 'localhost'}:${String(first)}`;
}

Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
  const target = describeTarget(args);
  attempts.push(target);
  throw new Error(`unit tests must not open network connections (tried ${target}); move the test to the services project`);
} as typeof Socket.prototype.connect;

afterAll(() => {
  Socket.prototype.connect = connect;
  if (attempts.length) throw new Error(`network connections attempted by a unit test: ${attempts.join(', ')}`);
});
