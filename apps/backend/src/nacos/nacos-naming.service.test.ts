import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/vigil-config.js';
import { InstanceAdmission } from '../instances/instance-admission.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { LEASE_TICK_MS, registryOptions } from '../instances/registry.module.js';
import { NacosNamingService } from './nacos-naming.service.js';
import { NacosError, beatRequest, instanceAddress, listQuery, readParams, registration, servicePage } from './nacos-params.js';
import { NacosServiceIndex } from './nacos-service-index.js';

const config = loadConfig({ VIGIL_LOST_AFTER_MS: '15000' });
const p = (query: Record<string, string>) => readParams(query, undefined);
const register = { serviceName: 'orders', ip: '10.0.0.1', port: '8080' };

describe('NacosNamingService', () => {
  let now: number;
  let registry: InstanceRegistry;
  let index: NacosServiceIndex;
  let naming: NacosNamingService;

  beforeEach(() => {
    now = 1_000_000;
    registry = new InstanceRegistry(registryOptions(config), now);
    index = new NacosServiceIndex(registry);
    naming = new NacosNamingService(
      registry,
      index,
      config,
      { now: () => now },
      new InstanceAdmission(registry, config.admission, () => now),
    );
  });

  /** Moves time on the way the lease ticker does: a longer gap would read as a backend stall. */
  function advance(ms: number): void {
    for (const end = now + ms; now + LEASE_TICK_MS <= end;) registry.tick((now += LEASE_TICK_MS));
  }

  it('registers an instance that the registry shows like an agent instance, source nacos', () => {
    naming.register(registration(p({ ...register, metadata: '{"zone":"a"}' })));
    expect(registry.get('10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders')).toEqual({
      instanceId: '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders',
      source: 'nacos',
      service: 'orders',
      appName: 'DEFAULT_GROUP',
      artifact: 'orders',
      appType: 'nacos',
      hostName: '10.0.0.1',
      ip: ['10.0.0.1'],
      processId: null,
      dynamicInstall: false,
      version: 'nacos-v1',
      plugins: [],
      metadata: { zone: 'a' },
      ephemeral: true,
      nacos: { namespaceId: 'public', groupName: 'DEFAULT_GROUP', clusterName: 'DEFAULT', port: 8080, weight: 1, enabled: true },
      status: 'healthy',
      registeredAt: now,
      lastHeartbeatTime: now,
      statusSince: now,
      metrics: null,
      health: null,
    });
  });

  it('keeps namespaces apart: the same address in two namespaces is two instances', () => {
    naming.register(registration(p(register)));
    naming.register(registration(p({ ...register, namespaceId: 'dev' })));
    expect(
      registry
        .list()
        .map((i) => i.instanceId)
        .sort(),
    ).toEqual(['10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders', 'dev#10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders']);
    expect(naming.list(listQuery(p({ serviceName: 'orders', namespaceId: 'dev' }))).hosts.map((h) => h.instanceId)).toEqual([
      '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders',
    ]);
  });

  it('answers a light beat for an unknown instance 20404, and a full beat registers it again', () => {
    const light = { serviceName: 'DEFAULT_GROUP@@orders', ip: '10.0.0.1', port: '8080' };
    expect(naming.beat(beatRequest(p(light)))).toEqual({ clientBeatInterval: 5000, code: 20404 });
    expect(registry.size).toBe(0);

    const beat = JSON.stringify({
      ip: '10.0.0.1',
      port: 8080,
      cluster: 'DEFAULT',
      weight: 1,
      metadata: { 'preserved.heart.beat.interval': '2000' },
    });
    expect(naming.beat(beatRequest(p({ ...light, beat })))).toEqual({ clientBeatInterval: 2000, code: 10200, lightBeatEnabled: true });
    expect(registry.get('10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders')?.metadata).toEqual({ 'preserved.heart.beat.interval': '2000' });

    now += 1_000;
    expect(naming.beat(beatRequest(p(light)))).toMatchObject({ code: 10200, clientBeatInterval: 2000 });
    expect(registry.get('10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders')?.lastHeartbeatTime).toBe(now);
  });

  it('refuses an instance beating far faster than its interval with 429 naming the interval, not its neighbours', () => {
    naming.register(registration(p(register)));
    const beat = (ip: string) => () => naming.beat(beatRequest(p({ serviceName: 'orders', ip, port: '8080' })));
    for (let i = 0; i < 10; i += 1) expect(beat('10.0.0.1')()).toMatchObject({ code: 10200 });
    expect(beat('10.0.0.1')).toThrow(
      new NacosError(429, 'too many beats for 10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders: beat every 5000 ms (clientBeatInterval)'),
    );
    naming.register(registration(p({ ...register, ip: '10.0.0.2' })));
    expect(beat('10.0.0.2')()).toMatchObject({ code: 10200 });
    now += 100;
    expect(beat('10.0.0.1')()).toMatchObject({ code: 10200 });
  });

  it('tells clients the global interval when one is configured', () => {
    const withInterval = loadConfig({ VIGIL_HEARTBEAT_INTERVAL_MS: '3000' });
    registry = new InstanceRegistry(registryOptions(withInterval), now);
    naming = new NacosNamingService(
      registry,
      new NacosServiceIndex(registry),
      withInterval,
      { now: () => now },
      new InstanceAdmission(registry, withInterval.admission, () => now),
    );
    naming.register(registration(p(register)));
    expect(naming.beat(beatRequest(p(register)))).toMatchObject({ code: 10200, clientBeatInterval: 3000 });
    expect(naming.list(listQuery(p({ serviceName: 'orders' }))).hosts[0]).toMatchObject({ instanceHeartBeatInterval: 3000 });
  });

  it("lists a service's enabled instances in Nacos's shape, by cluster, healthy only on request", () => {
    naming.register(registration(p({ ...register, clusterName: 'c1', weight: '2', metadata: '{"preserved.heart.beat.timeout":"9000"}' })));
    naming.register(registration(p({ ...register, ip: '10.0.0.2', clusterName: 'c2' })));
    naming.register(registration(p({ ...register, ip: '10.0.0.3', enabled: 'false' })));
    naming.register(registration(p({ ...register, serviceName: 'payments' })));

    const all = naming.list(listQuery(p({ serviceName: 'orders', clusters: '' })));
    expect(all).toMatchObject({
      name: 'DEFAULT_GROUP@@orders',
      groupName: 'DEFAULT_GROUP',
      clusters: '',
      cacheMillis: 3000,
      lastRefTime: now,
      dom: 'DEFAULT_GROUP@@orders',
      allIPs: false,
      reachProtectionThreshold: false,
    });
    expect(all.hosts).toEqual([
      {
        instanceId: '10.0.0.1#8080#c1#DEFAULT_GROUP@@orders',
        ip: '10.0.0.1',
        port: 8080,
        weight: 2,
        healthy: true,
        enabled: true,
        ephemeral: true,
        clusterName: 'c1',
        serviceName: 'DEFAULT_GROUP@@orders',
        metadata: { 'preserved.heart.beat.timeout': '9000' },
        valid: true,
        marked: false,
        instanceHeartBeatInterval: 5000,
        instanceHeartBeatTimeOut: 9000,
        ipDeleteTimeout: config.removeAfterMs,
      },
      expect.objectContaining({ instanceId: '10.0.0.2#8080#c2#DEFAULT_GROUP@@orders', instanceHeartBeatTimeOut: 15000 }),
    ]);
    expect(naming.list(listQuery(p({ serviceName: 'orders', clusters: 'c2' }))).hosts.map((h) => h.ip)).toEqual(['10.0.0.2']);

    // c1 goes silent past its 9 s timeout: lost, so not healthy for Nacos clients.
    advance(9_100);
    naming.beat(beatRequest(p({ ...register, ip: '10.0.0.2', clusterName: 'c2' })));
    const later = naming.list(listQuery(p({ serviceName: 'orders' })));
    expect(later.hosts.map((h) => [h.ip, h.healthy, h.valid])).toEqual([
      ['10.0.0.1', false, false],
      ['10.0.0.2', true, true],
    ]);
    expect(later.checksum).not.toBe(all.checksum);
    expect(naming.list(listQuery(p({ serviceName: 'orders', healthyOnly: 'true' }))).hosts.map((h) => h.ip)).toEqual(['10.0.0.2']);
  });

  it('counts a suspect instance (one beat overdue) as healthy', () => {
    naming.register(registration(p({ ...register, metadata: '{"preserved.heart.beat.interval":"1000"}' })));
    advance(2_100);
    expect(registry.get('10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders')?.status).toBe('suspect');
    expect(naming.list(listQuery(p({ serviceName: 'orders' }))).hosts[0]?.healthy).toBe(true);
  });

  it('answers one instance, or 404 with the message Nacos gives', () => {
    naming.register(registration(p({ ...register, clusterName: 'c1' })));
    expect(naming.detail(instanceAddress(p({ ...register, clusterName: 'c1' })))).toEqual({
      service: 'DEFAULT_GROUP@@orders',
      ip: '10.0.0.1',
      port: 8080,
      clusterName: 'c1',
      weight: 1,
      healthy: true,
      instanceId: '10.0.0.1#8080#c1#DEFAULT_GROUP@@orders',
      metadata: {},
    });
    const notFound = (query: Record<string, string>) => {
      try {
        naming.detail(instanceAddress(p(query)));
      } catch (error) {
        return error instanceof NacosError ? [error.status, error.message] : error;
      }
      return 'found';
    };
    expect(notFound({ ...register, serviceName: 'nope' })).toEqual([404, 'no service DEFAULT_GROUP@@nope found!']);
    expect(notFound(register)).toEqual([404, 'no ips found for cluster DEFAULT in service DEFAULT_GROUP@@orders']);
    expect(notFound({ ...register, clusterName: 'c1', port: '1' })).toEqual([404, 'no matched ip found!']);
  });

  it('deregisters at once, and an unknown instance is fine', () => {
    naming.register(registration(p(register)));
    naming.deregister(instanceAddress(p(register)));
    naming.deregister(instanceAddress(p(register)));
    expect(registry.size).toBe(0);
    expect(naming.list(listQuery(p({ serviceName: 'orders' }))).hosts).toEqual([]);
  });

  it('pages the service names of a group, sorted', () => {
    for (const name of ['c', 'a', 'b']) naming.register(registration(p({ ...register, serviceName: name })));
    naming.register(registration(p({ ...register, serviceName: 'shop@@d' })));
    expect(naming.services(servicePage(p({ pageNo: '1', pageSize: '2' })))).toEqual({ count: 3, doms: ['a', 'b'] });
    expect(naming.services(servicePage(p({ pageNo: '2', pageSize: '2' })))).toEqual({ count: 3, doms: ['c'] });
    expect(naming.services(servicePage(p({ pageNo: '3', pageSize: '2' })))).toEqual({ count: 3, doms: [] });
    expect(naming.services(servicePage(p({ pageNo: '1', pageSize: '9', groupName: 'shop' })))).toEqual({ count: 1, doms: ['d'] });
  });

  it("pages only the services within a token's scope, counting only those", () => {
    for (const name of ['orders-b', 'payments-a', 'orders-a', 'ordersx'])
      naming.register(registration(p({ ...register, serviceName: name })));
    const page = servicePage(p({ pageNo: '1', pageSize: '10' }));
    expect(naming.services(page, { servicePrefix: 'orders-' })).toEqual({ count: 2, doms: ['orders-a', 'orders-b'] });
    expect(naming.services(page, { servicePrefix: '' })).toEqual({ count: 4, doms: ['orders-a', 'orders-b', 'ordersx', 'payments-a'] });
  });

  it('answers an unhealthy instance healthy: false, leaves it out with healthyOnly, and healthy: true once it recovers', () => {
    naming.register(registration(p({ ...register, ephemeral: 'false' })));
    naming.register(registration(p({ ...register, ip: '10.0.0.2', ephemeral: 'false' })));
    registry.setProbeResult('10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders', false, now);
    expect(registry.get('10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders')?.status).toBe('unhealthy');
    const hosts = () => naming.list(listQuery(p({ serviceName: 'orders' }))).hosts.map((h) => [h.ip, h.healthy, h.valid]);
    expect(hosts()).toEqual([
      ['10.0.0.1', false, false],
      ['10.0.0.2', true, true],
    ]);
    expect(naming.list(listQuery(p({ serviceName: 'orders', healthyOnly: 'true' }))).hosts.map((h) => h.ip)).toEqual(['10.0.0.2']);
    registry.setProbeResult('10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders', true, now);
    expect(hosts()[0]).toEqual(['10.0.0.1', true, true]);
  });

  it('reports status UP and the Nacos counts', () => {
    naming.register(registration(p(register)));
    naming.register(registration(p({ ...register, ip: '10.0.0.2' })));
    naming.register(registration(p({ ...register, serviceName: 'payments' })));
    expect(naming.metrics(true)).toEqual({ status: 'UP' });
    const metrics = naming.metrics(false);
    expect(metrics).toMatchObject({
      status: 'UP',
      serviceCount: 2,
      instanceCount: 3,
      responsibleServiceCount: 2,
      responsibleInstanceCount: 3,
    });
    expect(metrics).toHaveProperty('cpu');
  });
});
