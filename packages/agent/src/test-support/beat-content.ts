import type { BeatContent } from '../heartbeat/message';

/** The content of a full beat, as the heartbeat sender's tests describe their instance. */
export function content(overrides: Partial<BeatContent> = {}): BeatContent {
  return {
    instanceId: 'instance-1',
    service: 'orders',
    appName: 'shop',
    artifact: 'orders',
    appType: 'default',
    processId: 4242,
    dynamicInstall: false,
    version: '0.1.0',
    hostName: 'host',
    ip: ['10.0.0.1'],
    plugins: [],
    ...overrides,
  };
}
