/**
 * The read-path bench's data and its direct-Postgres side.
 *
 * Seeding is set-based SQL (INSERT … SELECT generate_series) into the bench schema, shaped as a migration
 * leaves it: one website per user, content types whose `schema` holds the app's fields, content items whose
 * `data` is ~500 bytes of the app's JSON, pairs of items sharing a created_at (so the keyset's id
 * tie-break is exercised). Other users' websites share the tables, as in production.
 *
 * The baseline issues, per "request", the statements the API runs for that request (api/middleware/auth.ts,
 * api/data/rows.ts findRow, api/data/resources/*.ts list SQL) with the same parameters: the token look-up
 * and the website look-up are the API's own functions over a pg Pool; the list SQL is mirrored below.
 */
import type { Pool, PoolClient } from 'pg';
import type { ApiDeps } from '../api/context';
import { itemsPageSql } from '../api/data/resources/contentItems';
import { decodeCursor, findRow, type Db } from '../api/data/rows';
import { resolveCaller } from '../api/middleware/auth';

export interface SeedSpec {
  userId: string;
  /** Distinguishes this website's ids and browser ids from the other seeded websites'. */
  key: string;
  types: number;
  items: number;
}

export interface Seeded {
  websiteId: string;
  typeIds: string[];
}

/** Seeds one website with its content types and items; returns the server ids. */
export async function seedWebsite(db: PoolClient, s: SeedSpec): Promise<Seeded> {
  const [w] = (await db.query(
    `INSERT INTO websites (id, user_id, source_id, batch_id, name, slug, description, category, metadata, created_at, updated_at)
     SELECT md5($2 || ':website')::uuid, $1, 'website_1754981234567_' || left(md5($2), 9), NULL, 'Bench ' || $2, 'bench-' || $2,
            'A website seeded by the read-path bench', 'ecommerce', '{"settings":{"features":["payments"]},"theme":{"primary":"#10B981"}}',
            timestamptz '2025-08-12 07:00:00+00', timestamptz '2025-08-12 07:00:00+00'
     RETURNING id`, [s.userId, s.key])).rows;
  await db.query(
    `INSERT INTO content_types (id, user_id, source_id, batch_id, website_id, name, slug, schema, created_at, updated_at)
     SELECT md5($2 || ':type:' || t)::uuid, $1, (1754981000000 + t * 1000)::text || '_' || left(md5($2 || t), 9), NULL, $3,
            'Type' || t, 'type' || t,
            jsonb_build_object('pluralName', 'Type' || t || 's', 'icon', '📋', 'description', 'Content type ' || t || ' of the bench website',
              'relationships', '[]'::jsonb,
              'fields', (SELECT jsonb_agg(jsonb_build_object('id', (1754981005555 + f)::text || '_' || left(md5(t || ':' || f), 9),
                'name', (ARRAY['title','slug','excerpt','body','price','featured','heroImage','tags'])[f + 1],
                'label', initcap((ARRAY['title','slug','excerpt','body','price','featured','heroImage','tags'])[f + 1]),
                'type', (ARRAY['text','text','text','richText','number','boolean','image','text'])[f + 1],
                'required', f < 2, 'order', f, 'helpText', 'Shown to editors under the field')) FROM generate_series(0, 7) f)),
            timestamptz '2025-08-12 07:00:00+00' + t * interval '1 minute', timestamptz '2025-08-12 07:00:00+00' + t * interval '1 minute'
     FROM generate_series(0, $4::int - 1) t`, [s.userId, s.key, w.id, s.types]);
  await db.query(
    `INSERT INTO content_items (id, user_id, source_id, batch_id, content_type_id, website_id, data, status, created_at, updated_at)
     SELECT md5($2 || ':item:' || i)::uuid, $1, (1754982000000 + i * 1000)::text || '_' || left(md5($2 || i), 9), NULL,
            md5($2 || ':type:' || (i % $4))::uuid, $3,
            jsonb_build_object('title', 'Item ' || i || ': ' || left(md5('t' || i), 24), 'slug', 'item-' || i,
              'excerpt', left(repeat(md5('e' || i) || ' ', 3), 96), 'body', '<p>' || left(repeat(md5('b' || i) || ' ', 6), 180) || '</p>',
              'price', round((i % 10000) / 100.0, 2), 'featured', i % 5 = 0,
              'heroImage', 'https://images.example.com/' || md5('h' || i) || '.jpg', 'tags', jsonb_build_array('tag' || i % 13, 'tag' || i % 7)),
            CASE WHEN i % 3 = 0 THEN 'published' ELSE 'draft' END,
            timestamptz '2025-08-12 08:00:00+00' + (i / 2) * interval '1.237 seconds',
            timestamptz '2025-08-12 08:00:00+00' + (i / 2) * interval '1.237 seconds' + interval '1 hour'
     FROM generate_series(0, $5::int - 1) i`, [s.userId, s.key, w.id, s.types, s.items]);
  const types = (await db.query(`SELECT id FROM content_types WHERE website_id = $1 ORDER BY created_at, id`, [w.id])).rows;
  return { websiteId: w.id, typeIds: types.map((t) => t.id as string) };
}

/** Average size of a seeded item's `data` and of its whole row's JSON form, in bytes. */
export async function itemSizes(db: PoolClient, websiteId: string): Promise<{ data: number; row: number }> {
  const [r] = (await db.query(`SELECT avg(octet_length(data::text))::float AS data, avg(octet_length(to_jsonb(t)::text))::float AS row FROM content_items t WHERE website_id = $1`, [websiteId])).rows;
  return r;
}

// ---- the API's statements, issued straight through pg ----

/** A pg Pool as the `Db` the API's row helpers take (they only call `query(sql, params)` → rows). */
export function poolAsDb(pool: Pool): Db {
  return { query: async (sql: string, params?: unknown[]) => (await pool.query(sql, params)).rows } as unknown as Db;
}

/** Mirrors the list handler of api/data/resources/contentTypes.ts. */
const TYPES_SQL = `SELECT to_jsonb(t) AS r FROM content_types t WHERE t.website_id = $1 AND t.user_id = $2 ORDER BY t.created_at, t.id`;

export interface Caller {
  adminToken: string;
  token: string;
  websiteId: string;
}

/** What every data-API request runs first: resolve the bearer token, then load the website. */
async function authAndWebsite(db: Db, c: Caller): Promise<{ userId: string; websiteId: string }> {
  const deps = { config: { ADMIN_TOKEN: c.adminToken }, ds: db } as unknown as ApiDeps;
  const caller = await resolveCaller(deps, c.token);
  if (!caller?.userId) throw new Error('the bench token did not resolve to a user');
  const w = await findRow(db, 'websites', { user_id: caller.userId }, c.websiteId);
  if (!w) throw new Error('the bench website was not found');
  return { userId: caller.userId, websiteId: w.r.id };
}

/** GET /v1/websites/:websiteId/content-types, as SQL. */
export async function contentTypesDirect(db: Db, c: Caller): Promise<unknown[]> {
  const { userId, websiteId } = await authAndWebsite(db, c);
  return db.query(TYPES_SQL, [websiteId, userId]);
}

/** GET /v1/websites/:websiteId/content-items?[contentTypeId=]&[cursor=]&limit=, as SQL. */
export async function contentItemsDirect(db: Db, c: Caller, page: { typeId?: string; cursor?: string; limit: number }): Promise<{ r: { id: string } }[]> {
  const { userId, websiteId } = await authAndWebsite(db, c);
  const args: unknown[] = [websiteId, userId];
  if (page.typeId !== undefined) {
    const type = await findRow(db, 'content_types', { user_id: userId, website_id: websiteId }, page.typeId);
    if (!type) throw new Error(`content type ${page.typeId} not found`);
    args.push(type.r.id);
  }
  if (page.cursor) args.push(...decodeCursor(page.cursor, 2));
  args.push(page.limit + 1);
  return db.query(itemsPageSql({ byType: page.typeId !== undefined, cursor: !!page.cursor }), args);
}
