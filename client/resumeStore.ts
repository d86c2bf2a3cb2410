/**
 * Where an unfinished upload is remembered across page reloads (tus-js-client's UrlStorage seam).
 *
 * This is the one thing the uploader writes in the browser: one localStorage key per unfinished upload,
 * under its own prefix, removed again when the upload completes. snapshot() leaves these keys out, so they
 * never change the dump (which is what lets a reload find and resume the same upload).
 *
 * Besides what tus-js-client stores (upload URL, size, metadata) each record keeps the dump's header
 * line: a reload takes a new snapshot with a new `capturedAt`, and only the original header makes the
 * bytes, and therefore the sha256 the server checks, the same as the upload being continued.
 */
import type { PreviousUpload, UrlStorage } from 'tus-js-client';

export const RESUME_KEY_PREFIX = 'bsm-uploader::';

export interface StoredUpload extends PreviousUpload {
  header?: string;
}

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // sandboxed or storage blocked: uploads still work, they just cannot resume after a reload
  }
}

export class ResumeStore implements UrlStorage {
  /** `header` is attached to records this instance adds. */
  constructor(private readonly header?: string) {}

  async findAllUploads(): Promise<StoredUpload[]> {
    return this.find(RESUME_KEY_PREFIX);
  }

  async findUploadsByFingerprint(fingerprint: string): Promise<StoredUpload[]> {
    return this.find(`${RESUME_KEY_PREFIX}${fingerprint}::`);
  }

  async removeUpload(urlStorageKey: string): Promise<void> {
    storage()?.removeItem(urlStorageKey);
  }

  async addUpload(fingerprint: string, upload: PreviousUpload): Promise<string> {
    const key = `${RESUME_KEY_PREFIX}${fingerprint}::${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    storage()?.setItem(key, JSON.stringify({ ...upload, header: this.header }));
    return key;
  }

  private find(prefix: string): StoredUpload[] {
    const s = storage();
    if (!s) return [];
    const out: StoredUpload[] = [];
    for (let i = 0; i < s.length; i++) {
      const key = s.key(i);
      if (!key?.startsWith(prefix)) continue;
      try {
        out.push({ ...(JSON.parse(s.getItem(key) ?? '') as StoredUpload), urlStorageKey: key });
      } catch {
        // A damaged record must not stop an upload: it is simply not resumed.
      }
    }
    // Newest first: if several were left behind, the latest is the one worth continuing.
    return out.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
  }
}
