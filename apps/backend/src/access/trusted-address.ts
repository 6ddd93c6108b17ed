import { isIPv4 } from 'node:net';

/**
 * Whether a peer address is this machine's loopback: 127.0.0.0/8, ::1, or either written as an
 * IPv4-mapped IPv6 address (what a dual-stack socket reports). Every other address, including
 * this machine's own non-loopback ones, counts as "from elsewhere": traffic to a public address
 * may have come through port mapping or NAT.
 */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(v4)) return v4.startsWith('127.');
  return address === '::1' || address === '0:0:0:0:0:0:0:1';
}

/**
 * Whether a request says it was relayed by a proxy. A reverse proxy on the same host reaches the
 * backend from loopback on behalf of anyone, so a relayed request is never trusted as local.
 */
export function isRelayed(headers: Record<string, string | string[] | undefined>): boolean {
  return headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined || headers['x-real-ip'] !== undefined;
}

/**
 * Whether the Host header names this machine's loopback (or is absent). A page on another site
 * can make a browser on this machine reach 127.0.0.1 under the site's own name (DNS rebinding);
 * its requests then carry that name as Host, and are not trusted as local.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  const lower = name.toLowerCase();
  return lower === 'localhost' || lower.endsWith('.localhost') || isLoopback(lower);
}

/** Protected mode's test: a direct connection from loopback, addressed to loopback. */
export function isTrustedLocal(address: string | undefined, headers: Record<string, string | string[] | undefined>): boolean {
  const host = headers.host;
  return isLoopback(address) && !isRelayed(headers) && isLoopbackHost(typeof host === 'string' ? host : undefined);
}
