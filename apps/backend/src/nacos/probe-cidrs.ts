import { BlockList, isIP } from 'node:net';

/** One entry of `VIGIL_PROBE_TARGETS`: an address range probes may reach. */
export interface ProbeCidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * `VIGIL_PROBE_TARGETS`: comma-separated CIDRs (`10.0.0.0/8`) or single addresses (`10.1.2.3`,
 * `fd00::7`). Throws a message naming the bad entry.
 */
export function parseProbeCidrs(raw: string): ProbeCidr[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [address = '', prefixText, ...rest] = entry.split('/');
      // A zone id (fe80::1%eth0) would pass isIP yet never match an address.
      const family = address.includes('%') ? 0 : isIP(address);
      const max = family === 6 ? 128 : 32;
      const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
      if (family === 0 || rest.length > 0 || !(prefix <= max)) {
        throw new Error(`'${entry}' is not an IP address or a CIDR such as 10.0.0.0/8 or fd00::/8`);
      }
      return { address, prefix, family: family === 6 ? 'ipv6' : 'ipv4' };
    });
}

/** The ranges as one matcher; it also matches IPv4-mapped IPv6 addresses against IPv4 ranges. */
export function probeCidrMatcher(cidrs: readonly ProbeCidr[]): (address: string) => boolean {
  if (cidrs.length === 0) return () => false;
  const list = new BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family);
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}
