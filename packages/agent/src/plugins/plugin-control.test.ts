import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentEvents } from '../events/agent-events';
import { EventQueue } from '../events/event-queue';
import { logger } from '../logger';
import { AgentHealthService } from '../services/agent-health-service';
import { AgentHeartbeatService } from '../services/agent-heartbeat-service';
import { Instrumentation } from './instrumentation';
import { PluginControl } from './plugin-control';

describe('PluginControl', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function setUp() {
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const lib = { shout: (text: string) => text.toUpperCase() };
    const instrumentation = new Instrumentation({ appRoot: '/app', syncBuiltinExports: () => undefined });
    instrumentation.addPlugin('loud', [
      { module: './lib.js', method: 'shout', after: (ctx) => void (ctx.result = `${String(ctx.result)}!`) },
    ]);
    instrumentation.onModuleLoaded({ module: path.resolve('/app/lib.js'), exports: lib });
    const heartbeat = new AgentHeartbeatService('0.0.0-test');
    heartbeat.addPlugin('loud', '1.0.0');
    const queue = new EventQueue(20);
    const health = new AgentHealthService();
    const control = new PluginControl(instrumentation, heartbeat, new AgentEvents(queue), health);
    return { lib, heartbeat, health, queue, control };
  }

  it('disables and enables a plugin, reporting each outcome with the command id', () => {
    const { lib, heartbeat, queue, control } = setUp();
    control.apply([{ id: 'c1', type: 'plugin.disable', plugin: 'loud' }]);
    expect(lib.shout('hi')).toBe('HI');
    expect(heartbeat.collectPlugins()).toEqual([{ name: 'loud', version: '1.0.0', extInfo: {}, enabled: false }]);
    control.apply([
      { id: 'c2', type: 'plugin.disable', plugin: 'loud' },
      { id: 'c3', type: 'plugin.enable', plugin: 'loud' },
    ]);
    expect(lib.shout('hi')).toBe('HI!');
    expect(heartbeat.collectPlugins()).toEqual([{ name: 'loud', version: '1.0.0', extInfo: {} }]);
    expect(queue.take(10).events.map(({ level, type, message, attributes }) => ({ level, type, message, attributes }))).toEqual([
      {
        level: 'important',
        type: 'plugin.disabled',
        message: 'plugin loud disabled (command c1)',
        attributes: { commandId: 'c1', command: 'c1', plugin: 'loud' },
      },
      {
        level: 'important',
        type: 'plugin.disabled',
        message: 'plugin loud was already disabled (command c2)',
        attributes: { commandId: 'c2', command: 'c2', plugin: 'loud' },
      },
      {
        level: 'normal',
        type: 'plugin.enabled',
        message: 'plugin loud enabled (command c3)',
        attributes: { commandId: 'c3', command: 'c3', plugin: 'loud' },
      },
    ]);
  });

  it("leaves a disabled plugin's health indicators out of the instance's health, and counts them again once it is enabled", () => {
    const { health, control } = setUp();
    health.forPlugin('loud').setIndicator('loud', () => ({ status: 'down', details: { reason: 'too loud' } }));
    health.setIndicator('app', () => ({ status: 'up' }));
    const down = { status: 'down', indicators: { app: { status: 'up' }, loud: { status: 'down', details: { reason: 'too loud' } } } };
    expect(health.collect()).toEqual(down);
    control.apply([{ id: 'c1', type: 'plugin.disable', plugin: 'loud' }]);
    expect(health.collect()).toEqual({ status: 'up', indicators: { app: { status: 'up' } } });
    control.apply([{ id: 'c2', type: 'plugin.enable', plugin: 'loud' }]);
    expect(health.collect()).toEqual(down);
  });

  it('reports a command for a plugin it does not have as failed', () => {
    const { queue, control } = setUp();
    control.apply([{ id: 'c9', type: 'plugin.enable', plugin: 'ghost' }]);
    expect(queue.take(10).events).toEqual([
      {
        time: expect.any(Number),
        level: 'important',
        type: 'plugin.command-failed',
        message: 'command c9 (plugin.enable ghost) failed',
        attributes: { commandId: 'c9', command: 'c9', plugin: 'ghost', error: 'no plugin named ghost is loaded' },
      },
    ]);
  });
});
