import { metricsOf } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { agentInstanceOf, instanceOf } from './instance-record.js';
import { fullBeat } from './registry-fixtures.js';
import { sameInput } from './same-input.js';

describe('sameInput', () => {
  const input = agentInstanceOf(fullBeat({ instanceId: 'a' }));
  const held = instanceOf(input, 'healthy', 1, 2, 1, metricsOf(Array(11).fill(1), 2), { status: 'up', indicators: {} });

  it('ignores what the registry keeps beside the identity (lease, metrics, health): a repeated full beat is a plain renewal', () => {
    expect(sameInput(input, held)).toBe(true);
  });

  it('sees a changed, added or removed identity field', () => {
    expect(sameInput({ ...input, hostName: 'elsewhere' }, held)).toBe(false);
    expect(sameInput({ ...input, metadata: { zone: 'b' } }, held)).toBe(false);
    expect(sameInput({ ...input, plugins: [] }, held)).toBe(false);
  });
});
