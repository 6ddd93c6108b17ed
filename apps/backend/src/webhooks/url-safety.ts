import { lookup as lookupWithCallback, type LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses a webhook may not reach unless VIGIL_WEBHOOK_ALLOW_PRIVATE is set: whoever can edit
 * webhooks could otherwise make the backend call services that only it can reach (SSRF).
 * BlockList also matches IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) against the IPv4 rules.
 */
const privateRanges = new BlockList();
privateRanges.addSubnet('0.0.0.0', 8, 'ipv4'); // "this network": 0.0.0.0 reaches the local host on Linux
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT
privateRanges.addSubnet('127.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, where cloud metadata services live
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addSubnet('224.0.0.0', 3, 'ipv4'); // multicast, reserved and broadcast: never a webhook
privateRanges.addAddress('::', 'ipv6');
privateRanges.addAddress('::1', 'ipv6');
privateRanges.addSubnet('fc00::', 7, 'ipv6'); // unique-local
privateRanges.addSubnet('fe80::', 10, 'ipv6'); // link-local
privateRanges.addSubnet('ff00::', 8, 'ipv6'); // multicast

/** True for loopback, private, link-local, CGNAT, unique-local and other non-public addresses. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) would hide the address from BlockList
  const family = isIP(bare);
  if (family === 0) return true;
  return privateRanges.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** The host of a URL as DNS and isIP know it: without the brackets of an IPv6 literal. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** What is wrong with a webhook URL's form, or undefined: only absolute http(s) URLs with a host. */
export function urlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must use http or https, not ${url.protocol.slice(0, -1)}`;
  if (!url.hostname) return 'must name a host';
  return undefined;
}

export type Resolve = (host: string) => Promise<LookupAddress[]>;

const resolveAll: Resolve = (host) => lookup(host, { all: true, verbatim: true });

/**
 * Why the backend refuses to call this URL's host, or undefined. A host name counts as private
 * when any of its addresses is, since the connection may use any of them. Checked when a
 * webhook is saved, to answer 400 at once; delivery checks again with `privateAddressGuard`.
 */
export async function targetProblem(raw: string, allowPrivate: boolean, resolve: Resolve = resolveAll): Promise<string | undefined> {
  const problem = urlProblem(raw);
  if (problem || allowPrivate) return problem;
  const host = urlHost(new URL(raw));
  if (isIP(host)) return isPrivateAddress(host) ? privateMessage(host) : undefined;
  let addresses: LookupAddress[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    return `cannot resolve ${host} (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  const refused = addresses.find((a) => isPrivateAddress(a.address));
  return refused ? privateMessage(host, refused.address) : undefined;
}

function privateMessage(host: string, address = host): string {
  const target = address === host ? host : `${host} resolves to ${address}, which`;
  return `${target} is a loopback, private or link-local address; set VIGIL_WEBHOOK_ALLOW_PRIVATE=true to allow it`;
}

/** Error code of a connection refused by `privateAddressGuard`: retrying cannot help. */
export const PRIVATE_TARGET_REFUSED = 'EVIGIL_PRIVATE_TARGET';

/**
 * A `lookup` for node:http that refuses private addresses. The connection uses exactly the
 * addresses checked here, so a DNS answer that changed since the webhook was saved (DNS
 * rebinding) cannot slip a private target in between the check and the connect.
 */
export const privateAddressGuard: LookupFunction = (host, options, callback) => {
  lookupWithCallback(host, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused) {
      const refusal: NodeJS.ErrnoException = new Error(privateMessage(host, refused.address));
      refusal.code = PRIVATE_TARGET_REFUSED;
      return callback(refusal, '', 0);
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};
