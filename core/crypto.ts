/**
 * Secrets at rest: AES-256-GCM under ENCRYPTION_KEY, with the key id stored beside each ciphertext so
 * keys can be rotated (old keys stay readable through ENCRYPTION_OLD_KEYS).
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

export interface SealedSecret {
  $enc: 'aes-256-gcm';
  kid: string;
  iv: string;
  tag: string;
  ct: string;
  /** Absent: the plaintext is UTF-8. `utf16le`: it held a lone surrogate, which UTF-8 cannot carry. */
  text?: 'utf16le';
}

export class SecretBox {
  constructor(
    private readonly keys: ReadonlyMap<string, Buffer>,
    readonly currentKid: string,
  ) {
    if (!keys.has(currentKid)) throw new Error(`encryption key "${currentKid}" is not configured`);
  }

  /**
   * The IV is synthetic (HMAC of aad and plaintext under the key), so sealing the same secret for the same
   * place twice gives the same envelope: re-running a dump leaves unchanged rows unchanged. An IV repeats
   * only for an identical (aad, plaintext), which GCM tolerates; different secrets never share one.
   */
  seal(plain: string, aad = ''): SealedSecret {
    const key = this.keys.get(this.currentKid)!;
    // A string with a lone surrogate is sealed as its UTF-16 code units: as UTF-8 it would open to another
    // string (U+FFFD in its place), and two different secrets would seal alike.
    const utf16 = !(plain as unknown as { isWellFormed(): boolean }).isWellFormed();
    const bytes = Buffer.from(plain, utf16 ? 'utf16le' : 'utf8');
    const iv = createHmac('sha256', key).update(aad).update(utf16 ? '\u0000utf16le\u0000' : '\u0000').update(bytes).digest().subarray(0, 12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(bytes), c.final()]);
    return { $enc: 'aes-256-gcm', kid: this.currentKid, iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), ct: ct.toString('base64'), ...(utf16 ? { text: 'utf16le' as const } : {}) };
  }

  open(s: SealedSecret, aad = ''): string {
    const key = this.keys.get(s.kid);
    if (!key) throw new Error(`no key "${s.kid}" to decrypt with; add it to ENCRYPTION_OLD_KEYS`);
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(s.iv, 'base64'));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(Buffer.from(s.tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(s.ct, 'base64')), d.final()]).toString(s.text === 'utf16le' ? 'utf16le' : 'utf8');
  }

  static isSealed(v: unknown): v is SealedSecret {
    return typeof v === 'object' && v !== null && (v as { $enc?: unknown }).$enc === 'aes-256-gcm';
  }
}
