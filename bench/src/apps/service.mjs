#!/usr/bin/env node
/**
 * The service of bench:agent: a small node:http JSON API. `GET /` answers a small JSON object,
 * `GET /rss` the process's resident set size. Prints `listening <port>` once it listens; with
 * EXIT_ON_LISTEN=1 it exits right then (to time start-up).
 */
import { createServer } from 'node:http';

let served = 0;
const server = createServer((req, res) => {
  if (req.url === '/rss') {
    const body = JSON.stringify({ rss: process.memoryUsage.rss() });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return res.end(body);
  }
  served++;
  const body = JSON.stringify({ ok: true, served, service: 'bench-service', time: Date.now() });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
  if (process.env.EXIT_ON_LISTEN === '1') process.exit(0);
});
// For profiling runs: a normal exit on SIGTERM, so `node --cpu-prof` writes its profile.
if (process.env.EXIT_ON_SIGTERM === '1') process.on('SIGTERM', () => process.exit(0));
