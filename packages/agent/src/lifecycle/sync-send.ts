import { Worker } from 'node:worker_threads';
import type { BackendRequest } from '../backend/backend-link';

/**
 * Runs in the worker: sends every request over node:http(s) and flags the shared cell once each
 * of them is on its way (handed to the kernel, which delivers it even after the process ended)
 * or failed. Waiting for the answers would only add the backend's latency to the host's exit.
 * The worker is a fresh isolate without the agent, so nothing there is intercepted.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { cell, requests, timeoutMs } = workerData;
let left = requests.length;
for (const { method, url, body, headers: extra, ca } of requests) {
  let settled = false;
  const settle = () => {
    if (settled) return;
    settled = true;
    if (--left === 0) { Atomics.store(cell, 0, 1); Atomics.notify(cell, 0); }
  };
  const client = require(url.startsWith('https:') ? 'node:https' : 'node:http');
  const headers = { ...extra, 'content-length': Buffer.byteLength(body) };
  const options = { method, headers, timeout: timeoutMs, ...(ca !== undefined && { ca }) };
  const request = client.request(url, options, (response) => response.resume());
  request.on('finish', settle).on('error', settle).on('timeout', () => request.destroy());
  request.end(body);
}
`;

/**
 * Sends `requests` and blocks this thread until they are on their way or `timeoutMs` passed. An
 * 'exit' listener can only run synchronous code, and Node has no synchronous HTTP, so the
 * requests go out from a short-lived worker thread while this one waits on a shared cell (tens
 * of ms on an idle machine, mostly the worker's start). Never throws.
 */
export function sendSync(requests: readonly BackendRequest[], timeoutMs: number): void {
  if (requests.length === 0 || timeoutMs <= 0) return;
  try {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { cell, requests, timeoutMs },
      // Without the host's --require/--import: the agent must not load in its own worker.
      execArgv: [],
      stdout: true,
      stderr: true,
    });
    worker.unref();
    // The worker's failures surface as a timeout below; an 'error' event must not become the host's uncaught one.
    worker.on('error', () => undefined);
    Atomics.wait(cell, 0, 0, timeoutMs);
  } catch {
    // No worker (a locked-down runtime): the goodbye is best effort, and this one is lost.
  }
}
