import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Which hash of an element's key chose its slice (jobs/phases/slices.ts SLICE_KEY_HASHES). FNV-1a alone (1)
 * spreads keys by their low bits, which it mixes poorly: modulo an even slice count, ids whose characters
 * repeat in pairs all land in half the slices (the bench's 200,000 items: 10 of 20 slices empty, five with
 * 29,000 elements each). Splits from now on use 2 (FNV-1a with a final mix). A split cut short is completed
 * with the hash it started with, so rows split before this migration keep 1 (the default, as an older
 * worker still running during an upgrade writes them).
 */
export class SliceKeyHash1765500000000 implements MigrationInterface {
  name = 'SliceKeyHash1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entry_slices" ADD COLUMN "key_hash" smallint NOT NULL DEFAULT 1`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "entry_slices" DROP COLUMN "key_hash"`);
  }
}
