#!/usr/bin/env node
/**
 * A load generator for the beat socket, wrk's counterpart for WebSockets (run pinned to the load
 * core by `runSocketLoad`): `connections` sockets, each keeping `inflight` beats in flight (the
 * agent keeps one), cycling through the bodies of a file (one JSON beat per line) for `durationS`.
 * Prints one JSON line: requests, rps, p50/p99/max ms (send -> answer), errors (answers other than
 * status 200, closed sockets), and its own CPU share, to show it was not the bottleneck.
 *
 *   node socket-load.mjs URL BODIES_FILE DURATION_S CONNECTIONS INFLIGHT
 */
import { readFileSync } from 'node:fs';
import { createHistogram } from 'node:perf_hooks';
import { WebSocket } from 'ws';

const [url, file, durationArg, connectionsArg, inflightArg] = process.argv.slice(2);
const bodies = readFileSync(file, 'utf8')
  .split('\n')
  .filter((line) => line.length > 0);
const durationMs = Number(durationArg) * 1000;
const connections = Number(connectionsArg);
const inflight = Number(inflightArg);
const latency = createHistogram();
let next = 0;
let requests = 0;
let errors = 0;
let measuring = true;

function drive(socket) {
  const sentAt = [];
  const send = () => {
    sentAt.push(performance.now());
    socket.send(bodies[next]);
    next = next + 1 === bodies.length ? 0 : next + 1;
  };
  socket.on('message', (data) => {
    const at = sentAt.shift();
    if (!measuring) return;
    requests += 1;
    latency.record(Math.max(1, Math.round((performance.now() - at) * 1000)));
    // `{"status":200,` leads every good answer.
    if (data[10] !== 0x32 || data[11] !== 0x30 || data[12] !== 0x30) errors += 1;
    send();
  });
  socket.on('close', () => measuring && (errors += 1));
  for (let i = 0; i < inflight; i += 1) send();
}

const sockets = await Promise.all(
  Array.from(
    { length: connections },
    () =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(url, { perMessageDeflate: false });
        socket.once('open', () => resolve(socket)).once('error', reject);
      }),
  ),
);
const cpu0 = process.cpuUsage();
const started = performance.now();
for (const socket of sockets) drive(socket);
await new Promise((resolve) => setTimeout(resolve, durationMs));
measuring = false;
const elapsed = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
const ms = (us) => us / 1000;
console.log(
  JSON.stringify({
    requests,
    rps: (requests * 1000) / elapsed,
    p50: ms(latency.percentile(50)),
    p99: ms(latency.percentile(99)),
    max: ms(latency.max),
    errors,
    cpuPct: (100 * (cpu.user + cpu.system)) / 1000 / elapsed,
  }),
);
for (const socket of sockets) socket.terminate();
process.exit(0);
