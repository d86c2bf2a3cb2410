/**
 * GET /v1/assets/:asset — binaries moved out of the dump (inline data: URLs, Blobs), content-addressed.
 * Public like a CDN URL (an `<img>` sends no token), so the URL must not be guessable: `<sha256>.<mac>`, the
 * MAC keyed by a secret derived from ENCRYPTION_KEY and checked in constant time (core/assets.ts). The
 * hash-only form of URLs written before serves only the objects stored then.
 */
import type { Request, Response } from 'express';
import { ASSET_REF, assetKey, checkAssetMac, legacyAssetKey } from '../../core/assets';
import { Errors } from '../../core/errors';
import type { ApiDeps } from '../context';

export function getAsset(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const m = ASSET_REF.exec(String(req.params.asset));
    if (!m) throw Errors.notFound('Asset');
    const [, sha, mac] = m;
    // A wrong MAC answers exactly as a missing asset: nothing tells a guesser which part was wrong.
    if (mac !== undefined && !checkAssetMac(deps.config, sha, mac)) throw Errors.notFound('Asset');
    const keys = mac === undefined ? [legacyAssetKey(sha)] : [assetKey(sha), legacyAssetKey(sha)];
    let key: string | undefined;
    let info = null;
    for (const k of keys) if (!info && (info = await deps.store.head(k))) key = k;
    if (!info || !key) throw Errors.notFound('Asset');
    res.setHeader('Content-Length', String(info.size));
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.setHeader('Content-Type', 'application/octet-stream');
    const body = await deps.store.get(key);
    body.on('error', () => res.destroy());
    body.pipe(res);
  };
}
