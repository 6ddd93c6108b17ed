import { describe, expect, it } from 'vitest';
import { STRING_POOL_LIMIT, StringPool } from './string-pool.js';
import type { InstanceInput } from './instance-record.js';

const input = (service: string): InstanceInput => ({
  instanceId: `id-${service}`,
  source: 'agent',
  service,
  appName: 'shop',
  artifact: service,
  appType: 'default',
  hostName: 'host-1',
  ip: ['10.0.0.1'],
  processId: 1,
  dynamicInstall: false,
  version: '0.1.0',
  plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }],
  metadata: { zone: 'a' },
  ephemeral: true,
});

describe('StringPool', () => {
  it('returns the input unchanged in value, and keeps each distinct short string once', () => {
    const pool = new StringPool();
    const a = pool.internInput(input('orders'));
    expect(a).toEqual(input('orders'));
    const size = pool.size;
    pool.internInput(input('orders'));
    expect(pool.size).toBe(size);
  });

  it('shares equal small records and plugin entries between instances, not different ones', () => {
    const pool = new StringPool();
    const a = pool.internInput(input('orders'));
    const b = pool.internInput(input('billing'));
    expect(b.plugins[0]).toBe(a.plugins[0]);
    expect(b.metadata).toBe(a.metadata);
    const changed = pool.internInput({
      ...input('orders'),
      plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'stopping' } }],
    });
    expect(changed.plugins[0]).not.toBe(a.plugins[0]);
    expect(changed.plugins[0]).toEqual({ name: 'template', version: '1.2.0', extInfo: { status: 'stopping' } });
    const disabled = pool.internInput({
      ...input('orders'),
      plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' }, enabled: false }],
    });
    expect(disabled.plugins[0]).toEqual({ name: 'template', version: '1.2.0', extInfo: { status: 'started' }, enabled: false });
    expect(disabled.plugins[0]).not.toBe(a.plugins[0]);
  });

  it("keeps a plugin's declared settings (shared between instances) and the configuration versions it applied and refused", () => {
    const pool = new StringPool();
    const settings = {
      greeting: { type: 'string' as const, default: 'hello', description: 'what to say' },
      retries: { type: 'number' as const },
    };
    const withConfig = (configVersion: number, configRejected?: number) => ({
      ...input('orders'),
      plugins: [
        {
          name: 'template',
          version: '1.2.0',
          extInfo: {},
          settings: structuredClone(settings),
          configVersion,
          ...(configRejected && { configRejected }),
        },
      ],
    });
    const a = pool.internInput(withConfig(3));
    const b = pool.internInput(withConfig(2, 3));
    expect(a).toEqual(withConfig(3));
    expect(b).toEqual(withConfig(2, 3));
    expect(b.plugins[0]!.settings).toBe(a.plugins[0]!.settings);
  });

  it('stops growing at its limit and leaves long strings out', () => {
    const pool = new StringPool();
    for (let i = 0; i < STRING_POOL_LIMIT + 500; i++) expect(pool.intern(`s-${i}`)).toBe(`s-${i}`);
    expect(pool.size).toBe(STRING_POOL_LIMIT);
    const long = 'x'.repeat(200);
    const other = new StringPool();
    expect(other.intern(long)).toBe(long);
    expect(other.size).toBe(0);
  });
});
