/**
 * How a large entry's elements are spread over its slices (jobs/phases/slices.ts partition and
 * SLICE_KEY_HASHES): every element in exactly one slice, an element's key always in the same one, and slices
 * of about equal size whatever the keys look like. Key hash 1 stays exactly FNV-1a: splits cut short before
 * key hash 2 existed are completed with it.
 */
import { partition, SLICE_KEY_HASH, SLICE_KEY_HASHES } from '../../jobs/phases/slices';

/** Five standard deviations of a slice's size if keys fell into slices at random (binomial, about √mean). */
const spread = (mean: number) => 5 * Math.sqrt(mean);

/** Element counts per slice. */
function sizes(keys: readonly string[], slices: number, keyHash: number): number[] {
  const { indices, starts } = partition(keys.length, slices, (i) => keys[i], SLICE_KEY_HASHES[keyHash]);
  const seen = new Uint8Array(keys.length); // each element exactly once
  for (const i of indices) seen[i]++;
  expect(seen.every((n) => n === 1)).toBe(true);
  return Array.from({ length: slices }, (_, i) => starts[i + 1] - starts[i]);
}

// The bench's ids (bench/generate.ts benchItem): every digit twice, so the characters' parity cancels out.
const benchIds = Array.from({ length: 40_000 }, (_, i) => `1754982${String(i).padStart(6, '0')}_item${i}`);
// Catalyst's own ids: `${Date.now()}_${Math.random().toString(36).substr(2, 9)}` (catalyst-storage.md), made
// here from a fixed sequence so the test is the same every run.
let seed = 7;
const rand = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32; };
const catalystIds = Array.from({ length: 40_000 }, (_, i) => `${1754982000000 + i * 37}_${rand().toString(36).slice(2, 11)}`);
const sequentialIds = Array.from({ length: 40_000 }, (_, i) => `item-${i}`);

test('key hash 1 is FNV-1a, unchanged: the hash splits recorded before key hash 2 are completed with', () => {
  const fnv = SLICE_KEY_HASHES[1];
  // FNV-1a 32-bit reference values (ASCII keys: code units are the bytes).
  expect(fnv('')).toBe(0x811c9dc5);
  expect(fnv('a')).toBe(0xe40c292c);
  expect(fnv('foobar')).toBe(0xbf9cf968);
});

test('key hash 1 leaves half of an even slice count empty for ids whose characters pair up; key hash 2 fills every slice evenly', () => {
  const old = sizes(benchIds, 20, 1);
  expect(old.filter((n) => n === 0)).toHaveLength(10);
  const now = sizes(benchIds, 20, 2);
  expect(SLICE_KEY_HASH).toBe(2);
  for (const n of now) expect(Math.abs(n - 2000)).toBeLessThan(spread(2000));
});

test.each([
  ['Catalyst ids', catalystIds],
  ['sequential ids', sequentialIds],
  ['the bench ids', benchIds],
])('key hash 2 spreads %s over 2 to 64 slices as evenly as chance would', (_name, ids) => {
  for (const slices of [2, 3, 7, 20, 64]) {
    const mean = ids.length / slices;
    for (const n of sizes(ids, slices, 2)) expect(Math.abs(n - mean)).toBeLessThan(spread(mean));
  }
});

test('elements without a key go round-robin, and elements with one key share a slice', () => {
  const keys = ['x', 'y', 'x', 'z', 'x'];
  const elements = [...keys, null, null, null];
  const { indices, starts } = partition(elements.length, 3, (i) => elements[i], SLICE_KEY_HASHES[2]);
  const sliceOf = new Map<number, number>();
  for (let s = 0; s < 3; s++) for (const i of indices.subarray(starts[s], starts[s + 1])) sliceOf.set(i, s);
  expect(new Set([0, 2, 4].map((i) => sliceOf.get(i))).size).toBe(1);
  expect([5, 6, 7].map((i) => sliceOf.get(i))).toEqual([5 % 3, 6 % 3, 7 % 3]);
});
