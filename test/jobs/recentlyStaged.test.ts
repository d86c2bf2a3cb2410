/**
 * The values ingest keeps for the split (jobs/phases/recentlyStaged.ts): handed out once, as the staged text,
 * only with the staged length; bounded in bytes (the oldest go first) and in time.
 */
import { RecentlyStaged } from '../../jobs/phases/recentlyStaged';

const pieces = (text: string, cut: number) => {
  const bytes = Buffer.from(text, 'utf8');
  return [bytes.subarray(0, cut), bytes.subarray(cut)];
};

afterEach(() => jest.useRealTimers());

test('a kept value is taken once, decoded whole across its pieces (a character cut between two)', () => {
  const kept = new RecentlyStaged(1000, 60_000);
  const text = JSON.stringify('é📋 "quoted"');
  kept.keep('b1', 1, pieces(text, 3), Buffer.byteLength(text)); // byte 3 is inside 📋
  expect(kept.size).toBe(Buffer.byteLength(text));
  expect(kept.take('b1', 1, Buffer.byteLength(text))).toBe(text);
  expect(kept.take('b1', 1, Buffer.byteLength(text))).toBeUndefined();
  expect([kept.hits, kept.size]).toEqual([1, 0]);
});

test('another length than the staged one, another batch or seq: not handed out', () => {
  const kept = new RecentlyStaged(1000, 60_000);
  kept.keep('b1', 1, [Buffer.from('"abc"')], 5);
  kept.keep('b1', 2, [Buffer.from('"def"')], 5);
  expect(kept.take('b2', 1, 5)).toBeUndefined();
  expect(kept.take('b1', 1, 6)).toBeUndefined(); // and dropped: the split reads it back
  expect(kept.take('b1', 1, 5)).toBeUndefined();
  expect(kept.take('b1', 2, 5)).toBe('"def"');
  expect(kept.hits).toBe(1);
});

test('bounded: the oldest go first, a value larger than the bound is not kept, and each goes after the TTL', () => {
  jest.useFakeTimers();
  const kept = new RecentlyStaged(10, 1000);
  kept.keep('b', 1, [Buffer.from('"1234"')], 6);
  kept.keep('b', 2, [Buffer.from('"567"')], 5); // 11 > 10: #1 goes
  expect(kept.size).toBe(5);
  expect(kept.take('b', 1, 6)).toBeUndefined();
  kept.keep('b', 3, [Buffer.alloc(11)], 11); // larger than the bound
  expect(kept.size).toBe(5);
  jest.advanceTimersByTime(1001);
  expect(kept.size).toBe(0);
  expect(kept.take('b', 2, 5)).toBeUndefined();
});

test('what stagers set aside until their commit counts against the bound; pieces that would pin large chunks are not kept', () => {
  const kept = new RecentlyStaged(10, 60_000);
  expect(kept.reserve(6)).toBe(true);
  expect(kept.reserve(6)).toBe(false); // a second ingest of this process: over the bound
  kept.keep('b', 9, [Buffer.from('"ab"')], 4); // fits beside the reservation
  expect(kept.size).toBe(4);
  kept.release(6);
  kept.keep('b', 1, [Buffer.from('"abcd"')], 6);
  expect(kept.size).toBe(10);
  const chunk = Buffer.alloc(4 << 20, 'a'); // one large input chunk the value is a small piece of
  kept.keep('b', 2, [chunk.subarray(0, 8)], 8);
  expect(kept.take('b', 2, 8)).toBeUndefined();
});
