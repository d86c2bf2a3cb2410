/**
 * Row ids are forever: rows already written carry them, and a later dump of the same user must find them.
 * These pin uuidv5 to RFC 4122 version-5 values computed independently (a streaming SHA-1 of namespace and
 * name), for short, non-ASCII and long names (past the reused buffer the one-shot hash writes into).
 */
import { createHash } from 'node:crypto';
import { rowId, uuidv5 } from '../../core/ids';

function reference(name: string): string {
  const h = createHash('sha1').update(Buffer.from('6f0f3b0e4c2a4d8e9b1a2f5c7d3e8a91', 'hex')).update(name, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

test('uuidv5 gives the RFC 4122 v5 id of the name in our namespace, whatever its length or characters', () => {
  const names = ['', 'a', 'user-1\u001fcontent_item\u001f1754982000000_k3j9x2m1q', 'Grüße ☕ 📋 中文', '\u0000', 'x'.repeat(1359), 'y'.repeat(1360), 'é'.repeat(2000), '📋'.repeat(5000)];
  for (const n of names) expect([n.length, uuidv5(n)]).toEqual([n.length, reference(n)]);
  // Interleaved long and short names: nothing of a longer earlier name leaks into a shorter one.
  expect(uuidv5('z'.repeat(1000))).toBe(reference('z'.repeat(1000)));
  expect(uuidv5('z')).toBe(reference('z'));
  // A value pinned when ids were first written (never change it: rows carry it).
  expect(rowId('user-1', 'website', 'w1')).toBe('8d77cac7-7f68-5223-8d1b-ef9f0fa94e8e');
});
