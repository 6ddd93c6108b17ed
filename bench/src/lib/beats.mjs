/**
 * Heartbeat bodies as real agents send them (docs/protocol.md): a full beat of ~480 bytes
 * (identity, two IPv4 addresses, two plugins with ext-info) and a light beat of ~130 bytes.
 * Ids are UUID-shaped and fixed-width, so every body of one kind has the same length.
 */
import { HEARTBEAT_PATH } from '@vigil/protocol/constants';

export { HEARTBEAT_PATH };

/** A UUID-shaped id, unique per (run, index), always 36 characters. */
export function instanceId(run, index) {
  const hex = (n, width) => n.toString(16).padStart(width, '0').slice(-width);
  return `${hex(run, 8)}-${hex(index >>> 16, 4)}-4${hex(index & 0xfff, 3)}-a${hex(index % 4093, 3)}-${hex(index, 12)}`;
}

/** The content of a full beat for instance `index` (what a real agent of a fleet would send). */
export function identity(id, index) {
  const service = `svc-${String(index % 500).padStart(3, '0')}`;
  return {
    instanceId: id,
    service,
    appName: 'shop',
    artifact: service,
    appType: 'default',
    hostName: `host-${String(index).padStart(6, '0')}`,
    ip: [`10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`, `172.16.${(index >> 8) & 255}.${index & 255}`],
    processId: 1000 + (index % 60000),
    dynamicInstall: false,
    version: '0.1.0',
  };
}

export function plugins(changedAt) {
  return [
    { name: 'template', version: '1.2.0', extInfo: { status: 'started' } },
    { name: 'http-timing', version: '0.1.0', extInfo: { changedAt: String(changedAt ?? 0) } },
  ];
}

/**
 * Runtime metrics as agents send them in every beat (METRIC_FIELDS order: cpu %, rss, heap used,
 * heap limit bytes, event-loop delay p50/p99/max ms, utilization, GC ms, uptime s, handles):
 * 64 plausible samples, JSON-encoded once, that simulated agents take turns with, so the
 * backend sees changing figures and the load generator formats nothing per beat.
 */
export const METRICS_SAMPLES = Array.from({ length: 64 }, (_, k) => {
  const wave = (k * 37) % 64;
  return JSON.stringify([
    Math.round(50 + wave * 13) / 10,
    90_000_000 + wave * 1_048_576,
    40_000_000 + wave * 524_288,
    4_345_298_944,
    Math.round(101 + wave) / 100,
    Math.round(300 + wave * 9) / 100,
    Math.round(1000 + wave * 23) / 100,
    Math.round(50 + wave * 5) / 1000,
    Math.round(wave * 7) / 100,
    3600 + k * 5,
    12 + (wave % 7),
  ]);
});

/** A full beat; `metrics`: one of METRICS_SAMPLES (or none), `health`: a health report object (or none). */
export function fullBody(id, index, time, lastTime, changedAt, metrics, health) {
  const body = JSON.stringify({
    v: 1,
    kind: 'full',
    heartbeatTime: time,
    lastHeartbeatTime: lastTime,
    ...identity(id, index),
    plugins: plugins(changedAt),
    ...(health && { health }),
  });
  return metrics ? `${body.slice(0, -1)},"metrics":${metrics}}` : body;
}

/** A light beat (or a goodbye, `kind`); `metrics`: one of METRICS_SAMPLES, or none. */
export function lightBody(id, time, lastTime, kind = 'light', metrics) {
  return metrics
    ? `{"v":1,"kind":"${kind}","instanceId":"${id}","heartbeatTime":${time},"lastHeartbeatTime":${lastTime},"metrics":${metrics}}`
    : `{"v":1,"kind":"${kind}","instanceId":"${id}","heartbeatTime":${time},"lastHeartbeatTime":${lastTime}}`;
}

/** The health report simulated agents send in full beats: one indicator, up. */
export const HEALTH_UP = { status: 'up', indicators: { db: { status: 'up', details: { pool: '10' } } } };

/** One complete HTTP/1.1 request for a beat body. */
export function beatRequest(body, host = '127.0.0.1') {
  return `PUT ${HEARTBEAT_PATH} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
