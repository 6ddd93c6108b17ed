import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envVariableFor, loadConfig } from './config';

/** A temp project: optional package.json and vigil/config.properties. */
function project({ packageName, properties }: { packageName?: string; properties?: string } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-config-'));
  if (packageName !== undefined) writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: packageName }));
  if (properties !== undefined) {
    mkdirSync(path.join(dir, 'vigil'));
    writeFileSync(path.join(dir, 'vigil', 'config.properties'), properties);
  }
  return dir;
}

describe('loadConfig', () => {
  it('uses the defaults when there is no config file', () => {
    const cwd = project({ packageName: 'orders' });
    const { config, warnings, file } = loadConfig({ env: {}, cwd });
    expect(warnings).toEqual([]);
    expect(file).toBe(path.join(cwd, 'vigil', 'config.properties'));
    expect(config).toEqual({
      heartbeatEnabled: true,
      heartbeatIntervalMs: 5000,
      heartbeatTransport: 'websocket',
      eventsEnabled: true,
      eventSendIntervalMs: 1000,
      backendUrls: ['http://127.0.0.1:8900'],
      serviceName: 'orders',
      appName: 'default',
      appType: 'default',
      artifact: 'orders',
      pluginsDir: path.join(cwd, 'vigil', 'plugins'),
      plugins: undefined,
      logLevel: 'warn',
      metricsEnabled: true,
      healthTimeoutMs: 2000,
    });
  });

  it('reads the agent token and the backend CA file, and never echoes a bad token', () => {
    const cwd = project({ properties: 'agent.token=from-file-0123456789\nbackend.tls.ca=ca.pem\n' });
    writeFileSync(path.join(cwd, 'vigil', 'ca.pem'), '-----BEGIN CERTIFICATE-----\n');
    const { config, warnings } = loadConfig({ env: {}, cwd });
    expect(warnings).toEqual([]);
    expect(config.agentToken).toBe('from-file-0123456789');
    expect(config.backendTlsCa).toBe(path.join(cwd, 'vigil', 'ca.pem'));
    expect(loadConfig({ env: { VIGIL_AGENT_TOKEN: 'from-env-0123456789' }, cwd }).config.agentToken).toBe('from-env-0123456789');

    const bad = loadConfig({
      env: { VIGIL_AGENT_TOKEN: 'has a space secret', VIGIL_BACKEND_TLS_CA: 'missing.pem' },
      cwd,
    });
    expect(bad.config.agentToken).toBeUndefined();
    expect(bad.config.backendTlsCa).toBeUndefined();
    expect(bad.warnings.join('\n')).toContain('config agent.token: bad value (hidden) (from VIGIL_AGENT_TOKEN)');
    expect(bad.warnings.join('\n')).not.toContain('secret');
    expect(bad.warnings.join('\n')).toContain(
      'config backend.tls.ca: bad value "missing.pem" (from VIGIL_BACKEND_TLS_CA), expected a readable PEM file',
    );
  });

  it('reads the properties file', () => {
    const cwd = project({
      properties: [
        '# Sermant-style comments are fine',
        'agent.service.heartbeat.enable=false',
        'heartbeat.interval = 2000',
        'heartbeat.transport=HTTP',
        'agent.service.event.enable=false',
        'event.send.interval=250',
        'backend.url=http://backend-a:8900/, https://backend-b/vigil',
        'service.name=orders',
        'app.name=shop',
        'app.type=web',
        'artifact=orders-api',
        'plugins.dir=../../plugins',
        'plugins=template, @acme/vigil-plugin-db',
        'log.level=DEBUG',
        'metrics.enable=false',
        'health.timeout=500',
      ].join('\n'),
    });
    const { config, warnings } = loadConfig({ env: {}, cwd });
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      heartbeatEnabled: false,
      heartbeatIntervalMs: 2000,
      heartbeatTransport: 'http',
      eventsEnabled: false,
      eventSendIntervalMs: 250,
      backendUrls: ['http://backend-a:8900', 'https://backend-b/vigil'],
      serviceName: 'orders',
      appName: 'shop',
      appType: 'web',
      artifact: 'orders-api',
      // Relative to the config file's directory, not to cwd.
      pluginsDir: path.resolve(cwd, 'vigil', '../../plugins'),
      plugins: ['template', '@acme/vigil-plugin-db'],
      logLevel: 'debug',
      metricsEnabled: false,
      healthTimeoutMs: 500,
    });
  });

  it('lets environment variables override the file', () => {
    const cwd = project({ properties: 'heartbeat.interval=2000\nservice.name=from-file\napp.name=shop\n' });
    const { config } = loadConfig({
      env: { VIGIL_HEARTBEAT_INTERVAL: '750', VIGIL_SERVICE_NAME: 'from-env', VIGIL_PLUGINS: '' },
      cwd,
    });
    expect(config.heartbeatIntervalMs).toBe(750);
    expect(config.serviceName).toBe('from-env');
    expect(config.artifact).toBe('from-env');
    expect(config.appName).toBe('shop');
    expect(config.plugins).toEqual([]);
    const health = loadConfig({ env: { VIGIL_METRICS_ENABLE: 'FALSE', VIGIL_HEALTH_TIMEOUT: '750' }, cwd }).config;
    expect(health.metricsEnabled).toBe(false);
    expect(health.healthTimeoutMs).toBe(750);
  });

  it('names env variables after the key', () => {
    expect(envVariableFor('heartbeat.interval')).toBe('VIGIL_HEARTBEAT_INTERVAL');
    expect(envVariableFor('agent.service.heartbeat.enable')).toBe('VIGIL_AGENT_SERVICE_HEARTBEAT_ENABLE');
  });

  it('reads the file named by VIGIL_CONFIG, relative to cwd', () => {
    const cwd = project();
    mkdirSync(path.join(cwd, 'conf'));
    writeFileSync(path.join(cwd, 'conf', 'agent.properties'), 'service.name=elsewhere\n');
    const { config, file } = loadConfig({ env: { VIGIL_CONFIG: 'conf/agent.properties' }, cwd });
    expect(file).toBe(path.join(cwd, 'conf', 'agent.properties'));
    expect(config.serviceName).toBe('elsewhere');
    expect(config.pluginsDir).toBe(path.join(cwd, 'conf', 'plugins'));
  });

  it('warns when the file named by VIGIL_CONFIG is missing', () => {
    const cwd = project({ packageName: 'orders' });
    const { config, warnings } = loadConfig({ env: { VIGIL_CONFIG: 'nope.properties' }, cwd });
    expect(config.serviceName).toBe('orders');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('nope.properties');
  });

  it.each([
    ['heartbeat.interval', 'soon', 'heartbeatIntervalMs', 5000],
    ['heartbeat.interval', '99', 'heartbeatIntervalMs', 5000],
    ['heartbeat.interval', '1.5', 'heartbeatIntervalMs', 5000],
    ['heartbeat.interval', '3600001', 'heartbeatIntervalMs', 5000],
    ['event.send.interval', '-1', 'eventSendIntervalMs', 1000],
    ['heartbeat.transport', 'carrier-pigeon', 'heartbeatTransport', 'websocket'],
    ['agent.service.event.enable', 'on', 'eventsEnabled', true],
    ['agent.service.heartbeat.enable', 'yes', 'heartbeatEnabled', true],
    ['backend.url', 'not a url', 'backendUrls', ['http://127.0.0.1:8900']],
    ['backend.url', 'ftp://backend', 'backendUrls', ['http://127.0.0.1:8900']],
    ['log.level', 'loud', 'logLevel', 'warn'],
    ['plugins', '../escape', 'plugins', undefined],
    ['plugins', '@acme/../../escape', 'plugins', undefined],
    ['app.name', 'x'.repeat(257), 'appName', 'default'],
    ['metrics.enable', 'off', 'metricsEnabled', true],
    ['health.timeout', '9', 'healthTimeoutMs', 2000],
    ['health.timeout', '600001', 'healthTimeoutMs', 2000],
    ['health.timeout', '2s', 'healthTimeoutMs', 2000],
  ] as const)('falls back to the default for %s=%s, with a warning naming key and value', (key, value, field, fallback) => {
    const cwd = project({ properties: `${key}=${value}\n` });
    const { config, warnings } = loadConfig({ env: {}, cwd });
    expect(config[field]).toEqual(fallback);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(key);
    expect(warnings[0]).toContain(JSON.stringify(value));
  });

  it('warns once about the keys it does not know, naming them all, and reads the rest', () => {
    const cwd = project({ properties: 'heartbeat.intervall=1000\nservice.name=orders\nbackend.urls=http://x\n' });
    const { config, warnings, file } = loadConfig({ env: {}, cwd });
    expect(config.serviceName).toBe('orders');
    expect(warnings).toEqual([`config ${file}: unknown keys ignored: heartbeat.intervall, backend.urls`]);
  });

  it('does not warn about VIGIL_* variables it does not read: the backend shares the prefix', () => {
    const cwd = project();
    expect(loadConfig({ env: { VIGIL_PORT: '8900', VIGIL_LOST_AFTER_MS: '15000' }, cwd }).warnings).toEqual([]);
  });

  it('says which environment variable held a bad value', () => {
    const cwd = project();
    const { config, warnings } = loadConfig({ env: { VIGIL_HEARTBEAT_INTERVAL: 'fast' }, cwd });
    expect(config.heartbeatIntervalMs).toBe(5000);
    expect(warnings[0]).toMatch(/heartbeat\.interval.*"fast".*VIGIL_HEARTBEAT_INTERVAL/);
  });

  it('takes the service name from the nearest package.json with a name, walking up', () => {
    const cwd = project({ packageName: 'outer-service' });
    const nested = path.join(cwd, 'dist', 'esm');
    mkdirSync(nested, { recursive: true });
    // A nameless package.json (only setting the module type) is skipped.
    writeFileSync(path.join(cwd, 'dist', 'package.json'), JSON.stringify({ type: 'module' }));
    expect(loadConfig({ env: {}, cwd: nested }).config.serviceName).toBe('outer-service');
  });

  it('uses "default" when no package.json names the service', () => {
    expect(loadConfig({ env: {}, cwd: project() }).config.serviceName).toBe('default');
  });
});
