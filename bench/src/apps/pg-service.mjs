#!/usr/bin/env node
/**
 * The realistic service of bench:agent: a fastify JSON API whose `GET /` runs one query against
 * PostgreSQL per request (a row by primary key from a 1,000-row table, through a pool of 8 `pg`
 * connections) and answers it as JSON, as a small CRUD service does. `GET /rss` as in service.mjs.
 * Prints `listening <port>`. PostgreSQL from the usual PG* variables, else 127.0.0.1:5432,
 * database `test`, user `postgres` (trust auth).
 */
import Fastify from 'fastify';
import pg from 'pg';

const TABLE = 'vigil_bench_items';
const ROWS = 1000;
const pool = new pg.Pool({
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  database: process.env.PGDATABASE ?? 'test',
  user: process.env.PGUSER ?? 'postgres',
  max: 8,
});
// Idempotent, so that several services (and benches) may start against one database.
await pool.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id integer PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL)`);
await pool.query(
  `INSERT INTO ${TABLE} SELECT i, 'item ' || i, (i % 97) + 0.99 FROM generate_series(1, ${ROWS}) AS i ON CONFLICT (id) DO NOTHING`,
);

const app = Fastify({ logger: false });
let served = 0;
app.get('/', async () => {
  served++;
  const { rows } = await pool.query({
    name: 'item-by-id',
    text: `SELECT id, name, price FROM ${TABLE} WHERE id = $1`,
    values: [1 + (served % ROWS)],
  });
  return { ok: true, served, item: rows[0] ?? null };
});
app.get('/rss', async () => ({ rss: process.memoryUsage.rss() }));
app.server.keepAliveTimeout = 65_000;
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(`listening ${app.server.address().port}`);
if (process.env.EXIT_ON_LISTEN === '1') {
  await pool.end();
  process.exit(0);
}
if (process.env.EXIT_ON_SIGTERM === '1') process.on('SIGTERM', () => process.exit(0));
