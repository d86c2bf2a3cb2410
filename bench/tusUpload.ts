/** A bench dump sent through tus (chunks of `chunkMiB`), resolved with the batch id of the final PATCH. */
import { createReadStream } from 'node:fs';
import * as tus from 'tus-js-client';

export function tusUpload(base: string, token: string, file: string, dump: { bytes: number; sha256: string }, chunkMiB: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const up = new tus.Upload(createReadStream(file), {
      endpoint: `${base}/v1/uploads`,
      chunkSize: Math.floor(chunkMiB * 1024 * 1024),
      uploadSize: dump.bytes,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename: 'bench.ndjson', contentType: 'application/x-ndjson', sha256: dump.sha256 },
      retryDelays: [0, 1000, 3000],
      onSuccess: ({ lastResponse }) => {
        const id = lastResponse.getHeader('Migration-Batch-Id');
        if (id) resolve(id);
        else reject(new Error('the final PATCH carried no Migration-Batch-Id'));
      },
      onError: reject,
    });
    up.start();
  });
}
