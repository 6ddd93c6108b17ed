import { describe, expect, it } from 'vitest';
import { repoRoot, startProcess } from './harness.js';
import { join } from 'node:path';

describe('backend boot', () => {
  it('stops with a message naming each bad setting', async () => {
    const proc = startProcess(process.execPath, [join(repoRoot, 'apps/backend/dist/main.js')], {
      env: { VIGIL_PORT: 'http', VIGIL_LOST_AFTER_MS: '20000', VIGIL_REMOVE_AFTER_MS: '10000' },
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('VIGIL_PORT="http": must be a whole number');
    expect(proc.output()).toContain('VIGIL_REMOVE_AFTER_MS="10000": must be greater than VIGIL_LOST_AFTER_MS');
  });

  it('stops naming the store settings when they are bad', async () => {
    const proc = startProcess(process.execPath, [join(repoRoot, 'apps/backend/dist/main.js')], {
      env: { VIGIL_STORE: 'redis-cluster', VIGIL_REDIS_URL: 'http://cache:6379', VIGIL_REDIS_PREFIX: 'a b' },
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('VIGIL_STORE="redis-cluster": must be memory or redis');
    expect(proc.output()).toContain('VIGIL_REDIS_URL="http://cache:6379": must be a redis:// or rediss:// URL');
    expect(proc.output()).toContain('VIGIL_REDIS_PREFIX="a b"');
  });
});
