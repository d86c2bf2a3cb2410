/**
 * The file-serving routes (/v1/assets, /client, /admin/assets, /uploader): a traversal attempt, a missing
 * file or a malformed path is a 4xx in the error form (404 for "no such file"), never a 500, and never
 * a file from outside the served directory.
 */
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: false });
});
afterAll(() => stack.close());

/** Raw paths, sent as written (supertest would not normalise them either, but fetch keeps %2e / %2f). */
const PATHS: [string, number][] = [
  ['/admin/assets/nope.css', 404],
  ['/admin/assets/..%2f..%2fassets.ts', 404],
  ['/admin/assets/%2e%2e/assets.ts', 404],
  ['/admin/assets/..%2f..%2f..%2fpackage.json', 404],
  ['/admin/assets/.hidden', 404],
  ['/admin/assets/', 404],
  ['/admin/assets/%00', 400],
  ['/admin/assets/%E0%A4%A', 400],
  ['/v1/assets/nope', 404],
  ['/v1/assets/..%2f..%2fpackage.json', 404],
  [`/v1/assets/${'0'.repeat(64)}`, 404],
  ['/v1/assets/%E0%A4%A', 400],
  ['/client/nope.js', 404],
  ['/client/..%2f..%2fpackage.json', 404],
  ['/client/uploader.html', 404],
  ['/client/%E0%A4%A', 400],
  ['/uploader/..%2fpackage.json', 404],
  ['/uploader%2f..%2fpackage.json', 404],
];

test.each(PATHS)('GET %s → %i in the error form', async (path, status) => {
  const res = await fetch(`${stack.api.url}${path}`);
  const body = await res.text();
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const error = JSON.parse(body).error;
  expect(error).toMatchObject({ code: status === 404 ? 'not_found' : expect.any(String), message: expect.any(String) });
  expect(body).not.toMatch(/"name":\s*"browser-storage-migrator"/); // never package.json's content
});

test('the served files still come through', async () => {
  expect((await fetch(`${stack.api.url}/admin/assets/dashboard.css`)).status).toBe(200);
  expect((await fetch(`${stack.api.url}/uploader`)).status).toBe(200);
  expect((await fetch(`${stack.api.url}/client/uploader.js`)).status).toBe(200);
}, 60_000);
