/** Asset URLs: `<sha256>.<mac>`, the MAC keyed by a secret derived from ENCRYPTION_KEY (core/assets.ts). */
import { randomBytes } from 'node:crypto';
import { ASSET_REF, assetMac, assetUrl, checkAssetMac } from '../../core/assets';
import { loadConfig } from '../../core/config';

const key = () => randomBytes(32).toString('base64');
const SHA = 'ab'.repeat(32);

test('the URL carries the digest and a 22-character MAC that only the server can make', () => {
  const config = loadConfig({ ENCRYPTION_KEY: key(), PUBLIC_URL: 'https://bsm.example.com' });
  const url = assetUrl(config, SHA);
  const ref = url.slice('https://bsm.example.com/v1/assets/'.length);
  const [, sha, mac] = ASSET_REF.exec(ref)!;
  expect([sha, mac.length]).toEqual([SHA, 22]);
  expect(checkAssetMac(config, SHA, mac)).toBe(true);
  expect(checkAssetMac(config, 'cd'.repeat(32), mac)).toBe(false); // bound to its digest
  expect(checkAssetMac(loadConfig({ ENCRYPTION_KEY: key() }), SHA, mac)).toBe(false); // and to the server's key
  expect(checkAssetMac(config, SHA, mac.slice(1))).toBe(false);
});

test('rotating ENCRYPTION_KEY keeps the URLs already written working (the old key in ENCRYPTION_OLD_KEYS)', () => {
  const old = key();
  const before = loadConfig({ ENCRYPTION_KEY: old, ENCRYPTION_KEY_ID: 'k1' });
  const after = loadConfig({ ENCRYPTION_KEY: key(), ENCRYPTION_KEY_ID: 'k2', ENCRYPTION_OLD_KEYS: `k1:${old}` });
  expect(checkAssetMac(after, SHA, assetMac(before, SHA))).toBe(true);
  expect(assetMac(after, SHA)).not.toBe(assetMac(before, SHA)); // new URLs use the new key
});
