/**
 * Reads a V8 .cpuprofile (from `node --cpu-prof`) and tells where the time went: self time by
 * component (node core, fastify, NestJS, zod, socket.io, the backend's own code, GC, ...) and the
 * hottest functions. Idle time is left out of the shares, so they add up to the busy CPU time.
 * `fromUs`/`toUs` cut the profile to a window: its timestamps are CLOCK_MONOTONIC microseconds, the
 * clock of process.hrtime() (see monotonicUs() in processes.mjs), so the bench can mark a window.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function latestProfile(dir) {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  return join(dir, files.at(-1));
}

function componentOf(frame) {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    // The inspector session of a profile taken through node:inspector (the bench probe): not the server's work.
    if (functionName === 'dispatch') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    if (/^(writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString|shutdown|readStart|readStop)$/.test(functionName)) {
      return 'socket syscalls (native)';
    }
    return 'V8/native (program)';
  }
  if (url.startsWith('node:')) {
    if (/node:(_http|http)/.test(url)) return 'node:http';
    if (/node:(net|stream|internal\/streams|internal\/stream_base|_stream)/.test(url)) return 'node:net/streams';
    return 'node core (other)';
  }
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) {
    const pkg = m[1];
    if (
      /^(fastify|find-my-way|avvio|light-my-request|fast-json-stringify|fast-querystring|@fastify\/.*|secure-json-parse|fast-content-type-parse|toad-cache|process-warning|abstract-logging|rfdc)$/.test(
        pkg,
      )
    ) {
      return 'fastify';
    }
    if (pkg.startsWith('@nestjs/') || pkg === 'rxjs' || pkg === 'reflect-metadata') return 'NestJS (+rxjs)';
    if (pkg === 'zod') return 'zod (validation)';
    if (pkg === 'ws') return 'ws (WebSockets)';
    if (/^(socket\.io.*|engine\.io.*|@socket\.io\/.*)$/.test(pkg)) return 'socket.io';
    if (pkg === 'pino' || pkg.startsWith('pino-')) return 'pino';
    if (pkg === '@vigil/protocol') return 'protocol (schemas)';
    return pkg;
  }
  if (url.includes('/packages/protocol/')) return 'protocol (schemas)';
  if (url.includes('/packages/agent/')) return 'agent (interceptors, beats)';
  if (url.includes('/bench/plugins/')) return 'http-timing plugin';
  if (url.includes('/plugins/template/')) return 'template plugin';
  if (url.includes('/bench/src/apps/')) return 'service code';
  if (url.includes('/apps/backend/dist/instances/') || url.includes('/apps/backend/dist/leases/')) return 'registry + leases';
  if (url.includes('/apps/backend/dist/realtime/')) return 'realtime (delta batching)';
  if (url.includes('/apps/backend/dist/')) return 'backend (route, other)';
  if (url.includes('/bench/src/servers/')) return 'bare server code';
  if (url.includes('/bench/')) return 'bench instrumentation';
  return 'other';
}

export function analyzeProfile(file, { top = 12, fromUs = -Infinity, toUs = Infinity, trimUs = 0 } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  // `trimUs` drops the profile's first and last stretch (e.g. the inspector's own start and stop).
  fromUs = Math.max(fromUs, profile.startTime + trimUs);
  toUs = Math.min(toUs, profile.endTime - trimUs);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) continue;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const components = new Map();
  const functions = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const component = componentOf(node.callFrame);
    if (component === 'idle') {
      idle += us;
      continue;
    }
    total += us;
    components.set(component, (components.get(component) ?? 0) + us);
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
    const entry = functions.get(key) ?? { us: 0, component };
    entry.us += us;
    functions.set(key, entry);
  }
  const share = (us) => (100 * us) / total;
  return {
    file,
    busyMs: total / 1000,
    idleMs: idle / 1000,
    components: [...components].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, pct: share(us) })),
    functions: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, { us, component }]) => ({ name, component, pct: share(us) })),
  };
}

function shortUrl(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) return url.slice(nm + 'node_modules/'.length);
  const m = /\/(apps|bench|packages)\/.*/.exec(url);
  return m ? m[0].slice(1) : url.replace(/^file:\/\//, '');
}

/**
 * The longest stretches the thread was busy without a break (no idle sample): the event-loop
 * stalls. For each, its length and the components and functions that filled it.
 */
export function longestBusyStretches(file, { count = 3, top = 5, fromUs = -Infinity, toUs = Infinity } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const stretches = [];
  let current = null;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < fromUs || t > toUs) continue;
    const node = byId.get(profile.samples[i]);
    const component = node ? componentOf(node.callFrame) : 'other';
    if (component === 'idle') {
      if (current) stretches.push(current);
      current = null;
      continue;
    }
    current ??= { startUs: t, us: 0, components: new Map(), functions: new Map() };
    current.us += dt;
    current.components.set(component, (current.components.get(component) ?? 0) + dt);
    const { functionName, url, lineNumber } = node?.callFrame ?? {};
    const key = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
    current.functions.set(key, (current.functions.get(key) ?? 0) + dt);
  }
  if (current) stretches.push(current);
  return stretches
    .sort((a, b) => b.us - a.us)
    .slice(0, count)
    .map((s) => ({
      /** CLOCK_MONOTONIC microseconds when the stretch began. */
      atUs: s.startUs,
      ms: s.us / 1000,
      components: [...s.components]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, us]) => ({ name, ms: us / 1000 })),
      functions: [...s.functions]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, us]) => ({ name, ms: us / 1000 })),
    }));
}
