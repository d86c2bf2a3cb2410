/**
 * Jest's own order (failed first, then slowest or largest first), except that the files which take the
 * same test/helpers/exclusive.ts lock are placed apart: the browser memory test first, the responsiveness
 * test last, so the second rarely waits for the first.
 */
const Sequencer = require('@jest/test-sequencer').default;

const FIRST = /\/test\/client\/memory\.test\.ts$/;
const LAST = /\/test\/responsiveness\.test\.ts$/;

class ApartSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const rank = (t) => (FIRST.test(t.path) ? 0 : LAST.test(t.path) ? 2 : 1);
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = ApartSequencer;
