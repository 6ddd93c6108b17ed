import { request } from 'node:http';
import { connect } from 'node:net';
import type { NacosInstance } from './nacos-instance.js';

/**
 * Metadata keys that choose how a persistent instance is probed. Nacos sets this per cluster
 * (its health checker); Vigil has no cluster settings, so each instance carries its own.
 */
export const HEALTH_METADATA_KEYS = {
  /** `http` for an HTTP GET; anything else, or nothing, for a TCP connect (Nacos's default). */
  checker: 'preserved.health.checker',
  /** Path of the HTTP GET; default `/`; no query string (see probe-policy.ts). */
  path: 'preserved.health.path',
} as const;

export type ProbeTarget = { kind: 'tcp'; host: string; port: number } | { kind: 'http'; host: string; port: number; path: string };

/** Checks one target; true when it passed. Never rejects. */
export type Prober = (target: ProbeTarget, timeoutMs: number) => Promise<boolean>;

/** Largest response head a probe reads; the body is never read. */
export const MAX_PROBE_HEADER_BYTES = 8 * 1024;

/** What a registration at `host:port` with this metadata is probed with. */
export function probeTargetFor(host: string, port: number, metadata: Readonly<Record<string, string>>): ProbeTarget {
  if (metadata[HEALTH_METADATA_KEYS.checker]?.trim().toLowerCase() !== 'http') return { kind: 'tcp', host, port };
  // Registration refuses a query string; cutting it here too keeps one from an older store out of the request.
  const path = metadata[HEALTH_METADATA_KEYS.path]?.trim().replace(/[?#].*$/s, '') || '/';
  return { kind: 'http', host, port, path: path.startsWith('/') ? path : `/${path}` };
}

export function probeTargetOf(instance: NacosInstance): ProbeTarget {
  return probeTargetFor(instance.hostName, instance.nacos.port, instance.metadata);
}

/** One key per distinct probe: instances with equal keys share one probe per round. */
export function probeKey(target: ProbeTarget): string {
  return target.kind === 'http' ? `http ${target.host} ${target.port} ${target.path}` : `tcp ${target.host} ${target.port}`;
}

/** Passes when a TCP connection opens within the timeout. */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (passed: boolean) => {
      socket.destroy();
      resolve(passed);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/**
 * Passes on a 2xx answer within the timeout. Each probe opens its own connection (no agent, no
 * keep-alive), so a listener that went away fails the next probe instead of a pooled socket
 * hiding it. Only the status line and headers (at most MAX_PROBE_HEADER_BYTES) are read: the
 * connection is closed before the body, and a redirect is a failure, never followed.
 */
export function httpProbe(host: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port,
        path,
        method: 'GET',
        agent: false,
        maxHeaderSize: MAX_PROBE_HEADER_BYTES,
        signal: AbortSignal.timeout(timeoutMs),
        headers: { 'user-agent': 'vigil-health-probe' },
      },
      (res) => {
        resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300);
        res.destroy();
      },
    );
    req.once('error', () => resolve(false));
    req.end();
  });
}

export const probe: Prober = (target, timeoutMs) =>
  target.kind === 'http' ? httpProbe(target.host, target.port, target.path, timeoutMs) : tcpProbe(target.host, target.port, timeoutMs);
