import { describe, expect, it } from 'vitest';
import { summarizeApplied } from './applied-versions';

describe('summarizeApplied', () => {
  it('groups instances by the version they run, counts those still to apply theirs, and lists the ones that refused one', () => {
    const summary = summarizeApplied([
      { instanceId: 'b', version: 3, rejected: null, target: 3 },
      { instanceId: 'a', version: 3, rejected: null, target: 3 },
      { instanceId: 'c', version: 2, rejected: 3, target: 3 },
      { instanceId: 'd', version: 2, rejected: null, target: 3 },
      { instanceId: 'e', version: 0, rejected: null, target: 3 },
      // Its own overrides made version 4 for it alone, and it runs it.
      { instanceId: 'f', version: 4, rejected: null, target: 4 },
    ]);
    expect(summary.groups).toEqual([
      { version: 4, instanceIds: ['f'] },
      { version: 3, instanceIds: ['a', 'b'] },
      { version: 2, instanceIds: ['c', 'd'] },
      { version: 0, instanceIds: ['e'] },
    ]);
    expect(summary.refused).toEqual([{ instanceId: 'c', rejected: 3, kept: 2 }]);
    expect(summary.current).toBe(3);
    // d and e have not got version 3 yet; c refused it and is not waiting for it.
    expect(summary.waiting).toBe(2);
  });
});
