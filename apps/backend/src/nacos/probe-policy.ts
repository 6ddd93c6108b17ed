import { Inject, Injectable } from '@nestjs/common';
import { isIP } from 'node:net';
import { isLoopback } from '../access/trusted-address.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { HEALTH_METADATA_KEYS, probeKey, probeTargetFor } from './health-probes.js';
import type { InstanceSpec } from './nacos-instance.js';
import { NacosError } from './nacos-params.js';
import { probeCidrMatcher } from './probe-cidrs.js';
import { ProbeTargetIndex } from './probe-target-index.js';

/** Where a registration came from, as the route saw it. */
export interface RegistrationPeer {
  /** The socket's peer address. */
  address: string | undefined;
  /** Whether a proxy says it relayed the call: then the peer is the proxy, not the instance. */
  relayed: boolean;
}

/** A path a probe may GET: printable, no spaces, and no query string or fragment. */
const PROBE_PATH = /^[\x21-\x22\x24-\x3e\x40-\x7e]*$/;

/** An address in one spelling: IPv4-mapped IPv6 as IPv4, IPv6 in its shortest form. */
function canonical(address: string): string {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4;
  return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/**
 * Who may have what probed. Persistent instances are probed by the backend, so a registration
 * chooses where the backend connects: without a rule an agent token could aim probes at any
 * host and port (a port scanner, and GETs from inside the network). A probe may target the
 * address the registration came from (an instance registering itself, Nacos's usual case),
 * any loopback address when it came from loopback, or an address in `VIGIL_PROBE_TARGETS`;
 * an HTTP probe GETs a bare path; one host holds at most `VIGIL_PROBE_MAX_TARGETS_PER_HOST`
 * distinct targets. A registration outside these rules is refused, never kept unprobed.
 */
@Injectable()
export class ProbePolicy {
  private readonly allowed: (address: string) => boolean;
  private readonly maxTargetsPerHost: number;

  constructor(
    private readonly index: ProbeTargetIndex,
    @Inject(VIGIL_CONFIG) config: VigilConfig,
  ) {
    this.allowed = probeCidrMatcher(config.probeTargets);
    this.maxTargetsPerHost = config.probeMaxTargetsPerHost;
  }

  /** Throws the Nacos error that refuses this registration; ephemeral ones are not probed and pass. */
  admit(spec: InstanceSpec, peer: RegistrationPeer): void {
    if (spec.ephemeral) return;
    const rawPath = spec.metadata[HEALTH_METADATA_KEYS.path];
    if (rawPath !== undefined && !PROBE_PATH.test(rawPath.trim())) {
      throw new NacosError(
        400,
        `Param 'metadata' is illegal, ${HEALTH_METADATA_KEYS.path} must be a plain path without a query string, not '${rawPath}'`,
      );
    }
    if (isIP(spec.ip) === 0) {
      throw new NacosError(
        400,
        `Param 'ip' is illegal, a persistent instance is probed at its ip, which must be an IP address, not the host name '${spec.ip}'`,
      );
    }
    const target = canonical(spec.ip);
    if (!this.mayTarget(target, peer)) {
      throw new NacosError(
        403,
        `persistent instance at ${spec.ip} refused: its health probe may only target the address it registers from` +
          `${peer.relayed ? ' (unknown behind a proxy)' : ` (${peer.address ?? 'unknown'})`}; allow more with VIGIL_PROBE_TARGETS (comma-separated CIDRs)`,
      );
    }
    const key = probeKey(probeTargetFor(spec.ip, spec.port, spec.metadata));
    if (!this.index.has(spec.ip, key) && this.index.targetCount(spec.ip) >= this.maxTargetsPerHost) {
      throw new NacosError(
        429,
        `persistent instance at ${spec.ip}:${spec.port} refused: ${spec.ip} already has ${this.maxTargetsPerHost} distinct probe targets ` +
          `(VIGIL_PROBE_MAX_TARGETS_PER_HOST); deregister one or raise the setting`,
      );
    }
  }

  private mayTarget(target: string, peer: RegistrationPeer): boolean {
    if (this.allowed(target)) return true;
    if (peer.relayed || peer.address === undefined) return false;
    const from = canonical(peer.address);
    return from === target || (isLoopback(from) && isLoopback(target));
  }
}
