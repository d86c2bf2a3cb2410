/**
 * Where assets (binaries moved out of a dump: data: URLs, Blobs) live and how they are addressed.
 *
 * An `<img>` cannot send a bearer token, so an asset URL stays public; what keeps it private is that it
 * cannot be guessed. The content hash alone is not enough (anyone holding the image can compute it and so
 * confirm, or fetch, it), so the URL carries a MAC of the hash keyed by a secret derived from ENCRYPTION_KEY:
 * `/v1/assets/<sha256>.<mac>`. Every key of ENCRYPTION_KEY / ENCRYPTION_OLD_KEYS verifies, so rotating the
 * key keeps the URLs already written into rows working.
 *
 * Objects stored since signed URLs exist live under `assets/s/`; the hash-only URLs written before
 * (`/v1/assets/<sha256>`) keep working, but only for the objects stored then, under `assets/<xx>/`: a new
 * asset is never reachable by its hash alone (docs/ARCHITECTURE.md, Decisions).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from './config';

/** 16 bytes of HMAC-SHA256, base64url: 22 characters. */
const MAC_BYTES = 16;
export const ASSET_REF = /^([0-9a-f]{64})(?:\.([A-Za-z0-9_-]{22}))?$/;

const derived = new WeakMap<Config, Buffer[]>();

/** One URL key per encryption key (the current one first); never the encryption key itself. */
function urlKeys(config: Config): Buffer[] {
  let keys = derived.get(config);
  if (!keys) {
    const current = config.encryptionKeys.get(config.ENCRYPTION_KEY_ID)!;
    const all = [current, ...[...config.encryptionKeys.values()].filter((k) => k !== current)];
    keys = all.map((k) => createHmac('sha256', k).update('bsm/asset-url/v1').digest());
    derived.set(config, keys);
  }
  return keys;
}

const macWith = (key: Buffer, sha256: string) => createHmac('sha256', key).update(sha256).digest().subarray(0, MAC_BYTES);

export function assetMac(config: Config, sha256: string): string {
  return macWith(urlKeys(config)[0], sha256).toString('base64url');
}

/** Constant time per key: a wrong MAC takes as long whatever its first differing byte. */
export function checkAssetMac(config: Config, sha256: string, mac: string): boolean {
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== MAC_BYTES) return false;
  let ok = false;
  for (const key of urlKeys(config)) ok = timingSafeEqual(macWith(key, sha256), given) || ok;
  return ok;
}

/** The one builder of asset URLs (migration phases and the data API alike). */
export function assetUrl(config: Config, sha256: string): string {
  const base = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
  return `${base}/v1/assets/${sha256}.${assetMac(config, sha256)}`;
}

/** Object-store key of an asset stored since signed URLs exist. */
export function assetKey(sha256: string): string {
  return `assets/s/${sha256.slice(0, 2)}/${sha256}`;
}

/** Object-store key of an asset stored before (served by its hash-only URL too). */
export function legacyAssetKey(sha256: string): string {
  return `assets/${sha256.slice(0, 2)}/${sha256}`;
}
