/** Secrets sealed at rest (core/crypto.ts SecretBox): every string opens to exactly itself. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { SecretBox } from '../../core/crypto';

const box = new SecretBox(new Map([['k1', randomBytes(32)]]), 'k1');

test('any string, lone surrogates included, opens to itself; different strings seal differently', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
    expect(box.open(box.seal(a, 'place'), 'place')).toBe(a);
    if (a !== b) expect(box.seal(a, 'place').ct === box.seal(b, 'place').ct && box.seal(a, 'place').iv === box.seal(b, 'place').iv).toBe(false);
  }));
  expect(box.open(box.seal('tok\ud800en', 'x'), 'x')).toBe('tok\ud800en');
  expect(box.seal('k\ud800', 'x')).not.toEqual(box.seal('k\udfff', 'x'));
});

test('a well-formed string seals as before (UTF-8, no marker): re-running a dump rewrites no secret', () => {
  const sealed = box.seal('CFPAT-s3cr3t', 'row:apiKey');
  expect(sealed).not.toHaveProperty('text');
  expect(Buffer.from(sealed.ct, 'base64')).toHaveLength(Buffer.byteLength('CFPAT-s3cr3t'));
  expect(box.seal('CFPAT-s3cr3t', 'row:apiKey')).toEqual(sealed);
  expect(box.seal('k\ud800', 'x')).toMatchObject({ text: 'utf16le' });
});
