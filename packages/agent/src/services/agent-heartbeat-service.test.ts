import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../logger';
import { runInPlugin } from '../plugins/plugin-context';
import { AgentHeartbeatService } from './agent-heartbeat-service';
import { HeartbeatService } from './heartbeat-service';
import { registerService, ServiceManager } from './service-manager';

function started(): AgentHeartbeatService {
  const service = new AgentHeartbeatService('9.9.9');
  registerService(HeartbeatService, service);
  service.addPlugin('template', '1.2.0');
  return service;
}

describe('HeartbeatService', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reports loaded plugins with empty ext-info until a provider is set', () => {
    expect(started().collectPlugins()).toEqual([{ name: 'template', version: '1.2.0', extInfo: {} }]);
  });

  it('gives a plugin a view bound to it, which keeps working outside its context', () => {
    const service = started();
    const view = runInPlugin('template', () => ServiceManager.getService(HeartbeatService));
    expect(view).not.toBe(service);
    view.setExtInfo(() => ({ status: 'started' }));
    expect(service.collectPlugins()).toEqual([{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }]);
  });

  it('attributes setExtInfo on the service itself to the running plugin, else to the pseudo-plugin agent', () => {
    const service = started();
    expect(ServiceManager.getService(HeartbeatService)).toBe(service);
    runInPlugin('template', () => service.setExtInfo(() => ({ from: 'hook' })));
    service.setExtInfo(() => ({ from: 'app' }));
    expect(service.collectPlugins()).toEqual([
      { name: 'template', version: '1.2.0', extInfo: { from: 'hook' } },
      { name: 'agent', version: '9.9.9', extInfo: { from: 'app' } },
    ]);
  });

  it('calls the provider on every collection; a later provider replaces the earlier one', () => {
    const service = started();
    let count = 0;
    service.setExtInfoOf('template', () => ({ count: ++count }));
    expect(service.collectPlugins()[0]?.extInfo).toEqual({ count: '1' });
    expect(service.collectPlugins()[0]?.extInfo).toEqual({ count: '2' });
    service.setExtInfoOf('template', () => new Map([['kind', 'map']]));
    expect(service.collectPlugins()[0]?.extInfo).toEqual({ kind: 'map' });
  });

  it('stringifies values, sorts keys and drops undefined', () => {
    const service = started();
    service.setExtInfoOf('template', () => ({ b: 1, a: true, c: { nested: [1] }, d: undefined, e: null }));
    const extInfo = service.collectPlugins()[0]?.extInfo;
    expect(extInfo).toEqual({ a: 'true', b: '1', c: '{"nested":[1]}', e: 'null' });
    expect(Object.keys(extInfo ?? {})).toEqual(['a', 'b', 'c', 'e']);
  });

  it('costs a throwing provider only its own ext-info, warning once', () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const service = started();
    service.addPlugin('other', '1.0.0');
    service.setExtInfoOf('template', () => {
      throw new Error('provider bug');
    });
    service.setExtInfoOf('other', () => ({ ok: 'yes' }));
    const expected = [
      { name: 'template', version: '1.2.0', extInfo: {} },
      { name: 'other', version: '1.0.0', extInfo: { ok: 'yes' } },
    ];
    expect(service.collectPlugins()).toEqual(expected);
    expect(service.collectPlugins()).toEqual(expected);
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/template.*provider bug/);
  });

  it('holds ext-info to the protocol limits', () => {
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const service = started();
    const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v']));
    service.setExtInfoOf('template', () => ({ ...many, k00: 'x'.repeat(2000), ['y'.repeat(200)]: 'long key' }));
    const extInfo = service.collectPlugins()[0]?.extInfo ?? {};
    expect(Object.keys(extInfo)).toHaveLength(64);
    expect(extInfo.k00).toHaveLength(1024);
    expect(Object.keys(extInfo).some((key) => key.length > 128)).toBe(false);
  });

  it('lists a disabled plugin as disabled, without calling its provider, until it is enabled again', () => {
    const service = started();
    let calls = 0;
    service.setExtInfoOf('template', () => {
      calls += 1;
      return { status: 'started' };
    });
    service.setPluginEnabled('template', false);
    expect(service.collectPlugins()).toEqual([{ name: 'template', version: '1.2.0', extInfo: {}, enabled: false }]);
    expect(calls).toBe(0);
    service.setPluginEnabled('template', true);
    expect(service.collectPlugins()).toEqual([{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }]);
  });

  it('rejects a provider that is not a function', () => {
    expect(() => started().setExtInfo({ status: 'x' } as never)).toThrow(TypeError);
  });
});

describe('ServiceManager', () => {
  it('says clearly when the agent has not started', () => {
    expect(() => ServiceManager.getService({ serviceName: 'vigil.nothing', prototype: {} })).toThrow(/vigil\.nothing is not available/);
  });
});
