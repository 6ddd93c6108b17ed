import { describe, expect, it } from 'vitest';
import { pluginMatrices } from './plugin-matrix';

describe('pluginMatrices', () => {
  it('puts plugins with several versions first, versions in numeric order, a row per service', () => {
    const matrices = pluginMatrices([
      { plugin: 'http', version: '1.10.0', service: 'orders', instances: 3 },
      { plugin: 'http', version: '1.9.0', service: 'orders', instances: 1 },
      { plugin: 'http', version: '1.10.0', service: 'billing', instances: 2 },
      { plugin: 'cache', version: '2.0.0', service: 'orders', instances: 4 },
    ]);
    expect(matrices.map((m) => [m.plugin, m.drift])).toEqual([
      ['http', true],
      ['cache', false],
    ]);
    expect(matrices[0]).toMatchObject({
      versions: ['1.9.0', '1.10.0'],
      totals: { '1.9.0': 1, '1.10.0': 5 },
      services: [
        { service: 'billing', byVersion: { '1.10.0': 2 }, total: 2 },
        { service: 'orders', byVersion: { '1.9.0': 1, '1.10.0': 3 }, total: 4 },
      ],
    });
  });

  it('is empty without plugins', () => {
    expect(pluginMatrices([])).toEqual([]);
  });
});
