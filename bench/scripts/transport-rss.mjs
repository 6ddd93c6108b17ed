#!/usr/bin/env node
/**
 * What a beat transport adds to a small node:http service's RSS: a process that listens (as the
 * service of bench:agent does), then sends one HTTP request and opens one WebSocket to a real
 * backend with each candidate transport, and reads its RSS 2 s after start (as bench:agent
 * does). Three fresh processes per transport; prints the medians. It chose the agent's beat
 * transport (node:http and ws's client, not undici): see the bench:agent verdict in
 * docs/benchmarks.md.
 *
 *   node bench/scripts/transport-rss.mjs      (needs a built repo: npx turbo run build)
 *
 * Transports: none (listens only); undici (the parts the agent loaded until 2026-12-03: Pool,
 * request, Agent, WebSocket); node-http (node:http with an own keep-alive Agent, no WebSocket); ws
 * (node:http for the request, the ws package's index for the socket); ws-client (the same with only
 * ws's client file, as the agent loads it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, request, Agent } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
// The agent's own copy of ws; undici is the bench's (the agent no longer depends on it).
const requireFromAgent = createRequire(`${root}packages/agent/package.json`);
const requireFromBench = createRequire(`${root}bench/package.json`);
const MODES = ['none', 'undici', 'node-http', 'ws', 'ws-client'];

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();

async function child(mode, base) {
  createServer((_req, res) => res.end('x')).listen(0, '127.0.0.1');
  const beat = JSON.stringify({ instanceId: 'transport-rss' });
  const socketUrl = `${base.replace(/^http/, 'ws')}/api/v1/heartbeat/socket`;
  if (mode === 'undici') {
    const Pool = requireFromBench('undici/lib/dispatcher/pool');
    const UndiciAgent = requireFromBench('undici/lib/dispatcher/agent');
    const undiciRequest = requireFromBench('undici/lib/api/api-request');
    const { WebSocket } = requireFromBench('undici/lib/web/websocket/websocket');
    const answer = await undiciRequest.call(new Pool(base, { connections: 1 }), { path: '/api/v1/instances', method: 'GET' });
    await answer.body.text();
    const socket = new WebSocket(socketUrl, { dispatcher: new UndiciAgent() });
    socket.addEventListener('open', () => socket.send(beat));
  } else if (mode === 'node-http' || mode === 'ws' || mode === 'ws-client') {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await new Promise((resolve, reject) =>
      request(`${base}/api/v1/instances`, { agent }, (res) => res.resume().on('end', resolve))
        .on('error', reject)
        .end(),
    );
    if (mode !== 'node-http') {
      const WebSocket =
        mode === 'ws'
          ? requireFromAgent('ws')
          : requireFromAgent(join(dirname(requireFromAgent.resolve('ws/package.json')), 'lib', 'websocket.js'));
      const socket = new WebSocket(socketUrl);
      socket.on('open', () => socket.send(beat));
    }
  }
  setTimeout(() => {
    console.log(process.memoryUsage.rss());
    process.exit(0);
  }, 2000);
}

async function main() {
  const port = 7000 + Math.floor(Math.random() * 900);
  const backend = spawn(process.execPath, [`${root}apps/backend/dist/main.js`], {
    env: { ...process.env, VIGIL_PORT: String(port), VIGIL_HOST: '127.0.0.1' },
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let tries = 0; ; tries++) {
      try {
        if ((await fetch(`${base}/api/v1/instances`)).ok) break;
      } catch {
        if (tries > 100) throw new Error('the backend did not start');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const rss = Object.fromEntries(MODES.map((mode) => [mode, []]));
    for (let round = 0; round < 3; round++) {
      for (const mode of MODES) {
        const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, base], { encoding: 'utf8' });
        if (run.status !== 0) throw new Error(`${mode}: ${run.stderr}`);
        rss[mode].push(Number(run.stdout.trim()) / 1048576);
      }
    }
    const median = (values) => [...values].sort((a, b) => a - b)[1];
    console.log('| transport | RSS 2 s after start MiB (median of 3) | added MiB |');
    console.log('|---|---|---|');
    for (const mode of MODES) {
      const added = median(rss[mode]) - median(rss.none);
      console.log(`| ${mode} | ${median(rss[mode]).toFixed(1)} | ${mode === 'none' ? '' : `+${added.toFixed(1)}`} |`);
    }
  } finally {
    backend.kill();
  }
}
