import { instanceMetricsSchema } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { MetricsTable, figuresOf } from './metrics-table.js';

const figures = [12.5, 104_857_600, 52_428_800, 4_345_298_944, 1.2, 3.4, 10.1, 0.12, 3.2, 3600, null];

describe('MetricsTable', () => {
  it("shows a slot's latest figures through a view that reads and serialises as the API's metrics", () => {
    const table = new MetricsTable();
    const view = table.view(5_000);
    table.write(5_000, figures, 1_790_000_000_000);
    expect(view).toMatchObject({ cpu: 12.5, heapLimit: 4_345_298_944, activeHandles: null, sampledAt: 1_790_000_000_000 });
    const json = JSON.parse(JSON.stringify({ metrics: view })).metrics;
    expect(instanceMetricsSchema.parse(json)).toEqual(json);
    expect(figuresOf(view)).toEqual(figures);
    table.write(5_000, [1, 2, 3, 4, 5, 6, 7, 0.5, 8, 9, 10], 1_790_000_005_000);
    expect(view.cpu).toBe(1);
    table.writeObject(5_000, { ...json, cpu: 99 });
    expect(view.cpu).toBe(99);
  });

  it('reads nothing through the view of an instance that is gone, though its slot has a new instance', () => {
    const table = new MetricsTable();
    const old = table.view(3);
    table.write(3, figures, 10);
    table.release(3);
    const next = table.view(3);
    table.write(3, [7, 1, 1, 1, 1, 1, 1, 0.1, 1, 1, 1], 20);
    expect(next.cpu).toBe(7);
    expect(old.cpu).toBeNull();
    expect(old.sampledAt).toBe(0);
  });
});
