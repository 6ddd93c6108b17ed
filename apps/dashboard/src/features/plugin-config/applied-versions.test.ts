import { describe, expect, it } from 'vitest';
import { summarizeApplied } from './applied-versions';

describe('summarizeApplied', () => {
  it('groups instances by the version they run, and lists the ones that refused one', () => {
    const summary = summarizeApplied(
      [
        { instanceId: 'b', version: 3, rejected: null },
        { instanceId: 'a', version: 3, rejected: null },
        { instanceId: 'c', version: 2, rejected: 3 },
        { instanceId: 'd', version: 2, rejected: null },
        { instanceId: 'e', version: 0, rejected: null },
      ],
      3,
    );
    expect(summary.groups).toEqual([
      { version: 3, instanceIds: ['a', 'b'] },
      { version: 2, instanceIds: ['c', 'd'] },
      { version: 0, instanceIds: ['e'] },
    ]);
    expect(summary.refused).toEqual([{ instanceId: 'c', rejected: 3, kept: 2 }]);
    expect(summary.current).toBe(2);
    // d and e have not got version 3 yet; c refused it and is not waiting for it.
    expect(summary.waiting).toBe(2);
  });
});
