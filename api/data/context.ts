/**
 * What the data API shares with the migration: the layout's pure transforms build the rows of an API
 * write exactly as a migration builds them (same ids, same sealing, same data-URL handling), from the
 * browser-shaped body. This is their context for one user (and, where the kind needs it, one website).
 */
import { assetUrl } from '../../core/assets';
import type { Config } from '../../core/config';
import { SecretBox } from '../../core/crypto';
import { rowId } from '../../core/ids';
import type { TransformContext } from '../../jobs/transforms/types';

const boxes = new WeakMap<Config, SecretBox>();

export function secretsOf(config: Config): SecretBox {
  let box = boxes.get(config);
  if (!box) boxes.set(config, (box = new SecretBox(config.encryptionKeys, config.ENCRYPTION_KEY_ID)));
  return box;
}

export function transformContextFor(config: Config, userId: string, website: { id: string; sourceId: string } | null): TransformContext {
  const secrets = secretsOf(config);
  return {
    userId,
    id: (kind, ...source) => rowId(userId, kind, ...source),
    websiteId: (sourceWebsiteId) => rowId(userId, 'website', sourceWebsiteId),
    globalWebsite: website ? { ...website, rule: 'the website in the request path' } : null,
    contentTypeId: (src) => rowId(userId, 'content_type', src),
    seal: (plain, aad) => secrets.seal(plain, aad),
    assetUrl: (sha) => assetUrl(config, sha),
  };
}
