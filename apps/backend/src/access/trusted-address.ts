import { BlockList, isIP, isIPv4 } from 'node:net';

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

/**
 * `VIGIL_TRUSTED_PROXIES`: addresses and CIDR ranges (`10.0.0.0/8`, `::1`), comma-separated.
 * Throws a message naming the bad entry by position.
 */
export function parseTrustedProxies(raw: string): BlockList {
  const list = new BlockList();
  raw.split(',').forEach((entry, index) => {
    const [address = '', prefix, ...rest] = entry.trim().split('/');
    const family = isIP(address);
    const which = `entry ${index + 1}`;
    if (family === 0 || rest.length > 0) throw new Error(`${which} is not an IP address or CIDR range (e.g. 10.0.0.0/8, 127.0.0.1, ::1)`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) return list.addAddress(address, type);
    const bits = Number(prefix);
    if (!/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128))
      throw new Error(`${which} has a prefix length outside 0..${family === 4 ? 32 : 128}`);
    list.addSubnet(address, bits, type);
  });
  return list;
}

/** An address as a forwarding header writes it: `[v6]:port`, `v4:port`, quoted; undefined when not an IP. */
function headerAddress(value: string): string | undefined {
  const text = value.trim().replace(/^"|"$/g, '');
  const address = text.startsWith('[') ? text.slice(1, text.indexOf(']')) : isIP(text) !== 0 ? text : /^([\d.]+):\d+$/.exec(text)?.[1];
  return address !== undefined && isIP(address) !== 0 ? address : undefined;
}

function isTrustedProxy(proxies: BlockList, address: string): boolean {
  return proxies.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

/**
 * The client a request is for: the peer address, or, when the peer is a trusted proxy, the
 * address the proxy says it saw. Each proxy appends the peer it saw, so the forwarded hops are
 * read from the nearest: the first one that is not itself a trusted proxy is the client, and
 * whatever a client wrote further left is ignored. X-Forwarded-For, then Forwarded, then X-Real-IP.
 * Used to tell clients apart (the login limit), never to trust a request: see isTrustedLocal.
 */
export function clientAddress(
  peer: string | undefined,
  headers: Record<string, string | string[] | undefined>,
  proxies: BlockList,
): string {
  if (peer === undefined) return '';
  if (!isTrustedProxy(proxies, peer)) return peer;
  const hops = forwardedHops(headers);
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = headerAddress(hops[i]!);
    if (hop === undefined) return peer;
    if (!isTrustedProxy(proxies, hop) || i === 0) return hop;
  }
  return peer;
}

function forwardedHops(headers: Record<string, string | string[] | undefined>): string[] {
  const joined = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(',') : value);
  const xff = joined(headers['x-forwarded-for']);
  if (xff !== undefined) return xff.split(',');
  const forwarded = joined(headers.forwarded);
  if (forwarded !== undefined) {
    return forwarded.split(',').map((element) => /(?:^|;)\s*for=([^;]*)/i.exec(element)?.[1] ?? '');
  }
  const realIp = joined(headers['x-real-ip']);
  return realIp === undefined ? [] : [realIp];
}
