/**
 * GET /v1/assets/:sha256 — binaries moved out of the dump (inline data: URLs, Blobs), content-addressed.
 * Public like any CDN URL: the address is the SHA-256 of the bytes, so it can't be guessed.
 */
import type { Request, Response } from 'express';
import { Errors } from '../../core/errors';
import { assetKey } from '../../jobs/phases/entryPhase';
import type { ApiDeps } from '../context';

export function getAsset(deps: ApiDeps) {
  return async (req: Request, res: Response) => {
    const sha = String(req.params.sha256);
    if (!/^[0-9a-f]{64}$/.test(sha)) throw Errors.notFound('Asset');
    const info = await deps.store.head(assetKey(sha));
    if (!info) throw Errors.notFound('Asset');
    res.setHeader('Content-Length', String(info.size));
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.setHeader('Content-Type', 'application/octet-stream');
    const body = await deps.store.get(assetKey(sha));
    body.on('error', () => res.destroy());
    body.pipe(res);
  };
}
