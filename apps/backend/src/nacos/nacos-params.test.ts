import { describe, expect, it } from 'vitest';
import {
  NacosError,
  beatRequest,
  instanceAddress,
  listQuery,
  readParams,
  registration,
  servicePage,
  type NacosParams,
} from './nacos-params.js';

const params = (query: Record<string, string>, body?: unknown): NacosParams => readParams(query, body);

/** The 400 text a call answers, as the route would send it. */
function failure(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    if (error instanceof NacosError) return `${error.status} caused: ${error.message};`;
    throw error;
  }
  throw new Error('expected a NacosError');
}

describe('Nacos parameters', () => {
  it('merges the query string and a form body, the query string winning, first value of a repeat', () => {
    const merged = readParams({ ip: '10.0.0.1', port: ['80', '81'] }, { ip: '10.0.0.2', serviceName: 'orders', weight: 2 });
    expect(Object.fromEntries(merged)).toEqual({ ip: '10.0.0.1', port: '80', serviceName: 'orders', weight: '2' });
  });

  it("fills in Nacos's defaults for a register call", () => {
    expect(registration(params({ serviceName: 'orders', ip: '10.0.0.1', port: '8080' }))).toEqual({
      namespaceId: 'public',
      groupName: 'DEFAULT_GROUP',
      serviceName: 'orders',
      clusterName: 'DEFAULT',
      ip: '10.0.0.1',
      port: 8080,
      weight: 1,
      enabled: true,
      ephemeral: true,
      metadata: {},
    });
  });

  it("reads group@@name over groupName, the Java client's `enable`, the older `cluster`, and JSON metadata", () => {
    const spec = registration(
      params({
        serviceName: 'shop@@orders',
        groupName: 'ignored',
        namespaceId: 'dev',
        cluster: 'hz-1',
        ip: 'orders-1.internal',
        port: '8080',
        weight: '2.5',
        enable: 'false',
        ephemeral: 'false',
        metadata: '{"version":"1.2","canary":true}',
      }),
    );
    expect(spec).toMatchObject({
      namespaceId: 'dev',
      groupName: 'shop',
      serviceName: 'orders',
      clusterName: 'hz-1',
      ip: 'orders-1.internal',
      weight: 2.5,
      enabled: false,
      ephemeral: false,
      metadata: { version: '1.2', canary: 'true' },
    });
  });

  it("accepts Nacos's older k=v,k=v metadata", () => {
    expect(registration(params({ serviceName: 'a', ip: '::1', port: '1', metadata: 'zone=a,tier=web' })).metadata).toEqual({
      zone: 'a',
      tier: 'web',
    });
  });

  it('answers 400 naming the parameter, in Nacos words', () => {
    expect(failure(() => registration(params({ ip: '10.0.0.1', port: '1' })))).toBe("400 caused: Param 'serviceName' is required.;");
    expect(failure(() => registration(params({ serviceName: 'a', ip: ' ', port: '1' })))).toBe("400 caused: Param 'ip' is required.;");
    expect(failure(() => registration(params({ serviceName: 'a', ip: '10.0.0.1', port: '70000' })))).toMatch(
      /^400 caused: Param 'port' is illegal/,
    );
    expect(failure(() => registration(params({ serviceName: 'a', ip: 'bad host!', port: '1' })))).toMatch(/Param 'ip' is illegal/);
    expect(failure(() => registration(params({ serviceName: 'a', ip: '10.0.0.1', port: '1', weight: '10001' })))).toMatch(
      /Param 'weight' is illegal/,
    );
    expect(failure(() => registration(params({ serviceName: 'a', ip: '10.0.0.1', port: '1', ephemeral: 'ture' })))).toMatch(
      /Param 'ephemeral' is illegal/,
    );
    expect(failure(() => registration(params({ serviceName: 'a', ip: '10.0.0.1', port: '1', metadata: 'x' })))).toMatch(
      /Param 'metadata' is illegal/,
    );
    expect(failure(() => registration(params({ serviceName: 'a', ip: '10.0.0.1', port: '1', metadata: '{"a":{"b":1}}' })))).toMatch(
      /Param 'metadata.a' is illegal/,
    );
    expect(failure(() => registration(params({ serviceName: '@@orders', ip: '10.0.0.1', port: '1' })))).toMatch(
      /Param 'serviceName' is illegal/,
    );
    expect(failure(() => registration(params({ serviceName: 'a', clusterName: 'c_1', ip: '10.0.0.1', port: '1' })))).toMatch(
      /Param 'clusterName' is illegal/,
    );
  });

  it('refuses an instance whose id would not fit the registry', () => {
    expect(failure(() => instanceAddress(params({ serviceName: 'x'.repeat(120), ip: '10.0.0.1', port: '1' })))).toMatch(
      /Param 'serviceName' is illegal, the instance id .* Vigil allows 128/,
    );
  });

  it('reads a light beat from parameters, port defaulting to 0 as in Nacos', () => {
    expect(beatRequest(params({ serviceName: 'DEFAULT_GROUP@@orders', ip: '10.0.0.1', clusterName: 'c1' }))).toEqual({
      address: { namespaceId: 'public', groupName: 'DEFAULT_GROUP', serviceName: 'orders', clusterName: 'c1', ip: '10.0.0.1', port: 0 },
      register: null,
    });
  });

  it("reads a full beat's body over the parameters, ephemeral by default", () => {
    const beat = JSON.stringify({
      ip: '10.0.0.2',
      port: 9000,
      cluster: 'c2',
      weight: 3,
      metadata: { zone: 'a' },
      serviceName: 'DEFAULT_GROUP@@orders',
      period: 5000,
    });
    const request = beatRequest(params({ serviceName: 'DEFAULT_GROUP@@orders', ip: '10.0.0.1', port: '1', clusterName: 'c1' }, { beat }));
    expect(request.register).toEqual({
      namespaceId: 'public',
      groupName: 'DEFAULT_GROUP',
      serviceName: 'orders',
      clusterName: 'c2',
      ip: '10.0.0.2',
      port: 9000,
      weight: 3,
      enabled: true,
      ephemeral: true,
      metadata: { zone: 'a' },
    });
    expect(request.address).toEqual(request.register);
    expect(failure(() => beatRequest(params({ serviceName: 'a', ip: '10.0.0.1', beat: '{nope' })))).toMatch(/Param 'beat' is illegal/);
  });

  it('echoes clusters exactly and reads healthyOnly', () => {
    expect(listQuery(params({ serviceName: 'orders', clusters: 'c1,c2 ', healthyOnly: 'true' }))).toEqual({
      service: { namespaceId: 'public', groupName: 'DEFAULT_GROUP', serviceName: 'orders' },
      clusters: 'c1,c2 ',
      healthyOnly: true,
    });
    expect(listQuery(params({ serviceName: 'orders' }))).toMatchObject({ clusters: '', healthyOnly: false });
  });

  it('requires pageNo and pageSize for the service list', () => {
    expect(servicePage(params({ pageNo: '2', pageSize: '10' }))).toEqual({
      namespaceId: 'public',
      groupName: 'DEFAULT_GROUP',
      pageNo: 2,
      pageSize: 10,
    });
    expect(failure(() => servicePage(params({ pageSize: '10' })))).toBe("400 caused: Param 'pageNo' is required.;");
    expect(failure(() => servicePage(params({ pageNo: '0', pageSize: '10' })))).toMatch(/Param 'pageNo' is illegal/);
  });
});
