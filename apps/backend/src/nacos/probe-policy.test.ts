import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/vigil-config.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { registryOptions } from '../instances/registry.module.js';
import { toInstanceInput, type InstanceSpec } from './nacos-instance.js';
import { NacosError } from './nacos-params.js';
import { ProbePolicy, type RegistrationPeer } from './probe-policy.js';
import { ProbeTargetIndex } from './probe-target-index.js';

function spec(overrides: Partial<InstanceSpec>): InstanceSpec {
  return {
    namespaceId: 'public',
    groupName: 'DEFAULT_GROUP',
    serviceName: 'orders-db',
    clusterName: 'DEFAULT',
    ip: '10.0.0.7',
    port: 5432,
    weight: 1,
    enabled: true,
    ephemeral: false,
    metadata: {},
    ...overrides,
  };
}

const from = (address: string, relayed = false): RegistrationPeer => ({ address, relayed });
const http = (path: string) => ({ 'preserved.health.checker': 'http', 'preserved.health.path': path });

describe('ProbePolicy', () => {
  let registry: InstanceRegistry;
  const policyWith = (env: Record<string, string> = {}) => {
    const config = loadConfig(env);
    registry = new InstanceRegistry(registryOptions(config), 0);
    return new ProbePolicy(new ProbeTargetIndex(registry), config);
  };
  /** The refusal's status and message, or 'ok'. */
  const verdict = (policy: ProbePolicy, s: InstanceSpec, peer: RegistrationPeer) => {
    try {
      policy.admit(s, peer);
      return 'ok';
    } catch (error) {
      if (!(error instanceof NacosError)) throw error;
      return `${error.status} ${error.message}`;
    }
  };
  let policy: ProbePolicy;
  beforeEach(() => {
    policy = policyWith();
  });

  it('lets an instance have itself probed, and a loopback client any loopback address', () => {
    expect(verdict(policy, spec({}), from('10.0.0.7'))).toBe('ok');
    expect(verdict(policy, spec({}), from('::ffff:10.0.0.7'))).toBe('ok');
    expect(verdict(policy, spec({ ip: '127.0.0.2' }), from('127.0.0.1'))).toBe('ok');
    expect(verdict(policy, spec({ ip: '::1' }), from('::ffff:127.0.0.1'))).toBe('ok');
    expect(verdict(policy, spec({ ip: 'fd00:0:0::7' }), from('fd00::7'))).toBe('ok');
  });

  it('refuses a probe aimed at another address with 403 naming VIGIL_PROBE_TARGETS; ephemeral instances are not probed and pass', () => {
    expect(verdict(policy, spec({ ip: '127.0.0.1' }), from('10.0.0.7'))).toMatch(
      /^403 .*registers from \(10\.0\.0\.7\).*VIGIL_PROBE_TARGETS/,
    );
    expect(verdict(policy, spec({ ip: '169.254.169.254', port: 80 }), from('10.0.0.7'))).toMatch(/^403 /);
    expect(verdict(policy, spec({ ip: '10.0.0.8' }), from('127.0.0.1'))).toMatch(/^403 /);
    expect(verdict(policy, spec({ ip: '127.0.0.1', ephemeral: true, metadata: http('/x?y=1') }), from('10.0.0.7'))).toBe('ok');
  });

  it('trusts no address behind a proxy: only VIGIL_PROBE_TARGETS applies to a relayed registration', () => {
    expect(verdict(policy, spec({ ip: '127.0.0.1' }), from('127.0.0.1', true))).toMatch(/^403 .*behind a proxy/);
    const open = policyWith({ VIGIL_PROBE_TARGETS: '10.0.0.0/8, fd00::/8,192.168.1.5' });
    expect(verdict(open, spec({ ip: '10.9.9.9' }), from('127.0.0.1', true))).toBe('ok');
    expect(verdict(open, spec({ ip: 'fd00::9' }), from('203.0.113.1'))).toBe('ok');
    expect(verdict(open, spec({ ip: '192.168.1.5' }), from('203.0.113.1'))).toBe('ok');
    expect(verdict(open, spec({ ip: '192.168.1.6' }), from('203.0.113.1'))).toMatch(/^403 /);
  });

  it('refuses a host name (it could resolve anywhere) and a health path with a query string, with 400 naming the parameter', () => {
    expect(verdict(policy, spec({ ip: 'db-1.internal' }), from('10.0.0.7'))).toMatch(/^400 Param 'ip' is illegal/);
    expect(verdict(policy, spec({ metadata: http('/admin/delete-everything?confirm=yes') }), from('10.0.0.7'))).toMatch(
      /^400 Param 'metadata' is illegal, preserved.health.path must be a plain path without a query string/,
    );
    expect(verdict(policy, spec({ metadata: http('/a#b') }), from('10.0.0.7'))).toMatch(/^400 /);
    expect(verdict(policy, spec({ metadata: http('/a b') }), from('10.0.0.7'))).toMatch(/^400 /);
    expect(verdict(policy, spec({ metadata: http('/actuator/health') }), from('10.0.0.7'))).toBe('ok');
  });

  it('bounds the distinct targets of one host (429 naming the setting); a shared target counts once and a removal frees room', () => {
    policy = policyWith({ VIGIL_PROBE_MAX_TARGETS_PER_HOST: '2' });
    const admitAndRegister = (s: InstanceSpec) => {
      const answer = verdict(policy, s, from('10.0.0.7'));
      if (answer === 'ok') registry.upsert(toInstanceInput(s), 0);
      return answer;
    };
    expect(admitAndRegister(spec({ port: 1 }))).toBe('ok');
    for (let i = 0; i < 20; i++) expect(admitAndRegister(spec({ serviceName: `orders-${i}`, port: 2, metadata: http('/h') }))).toBe('ok');
    expect(admitAndRegister(spec({ port: 2 }))).toMatch(
      /^429 .*10\.0\.0\.7 already has 2 distinct probe targets \(VIGIL_PROBE_MAX_TARGETS_PER_HOST\)/,
    );
    expect(verdict(policy, spec({ ip: '127.0.0.1', port: 3 }), from('127.0.0.1'))).toBe('ok'); // another host has its own room
    registry.remove('10.0.0.7#1#DEFAULT#DEFAULT_GROUP@@orders-db', 0);
    expect(admitAndRegister(spec({ port: 2 }))).toBe('ok');
  });
});
